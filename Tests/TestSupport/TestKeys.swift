import Shared

/// The one source of RSA keys for every test target. Generating an RSA-2048 key costs 70–300 ms,
/// so the shared keys are made once per test process, on first use; a test whose key must not be
/// shared with any other (the database is shared: a key it revokes must be its own) takes a fresh one.
public enum TestKeys {
    /// The key the stand-in authorization server signs and publishes by default.
    public static let primary = generated()
    /// A second valid key: the one a rotation moves to, or simply "another key".
    public static let secondary = generated()
    /// A valid key that nothing publishes: forged signatures.
    public static let attacker = generated()

    public static var primaryKID: String { try! primary.thumbprint() }
    public static var secondaryKID: String { try! secondary.thumbprint() }

    /// A key of the caller's own, shared with no other test.
    public static func fresh() throws -> RSAKey { try RSAKey.generate(bits: 2048) }

    private static func generated() -> RSAKey {
        do { return try fresh() } catch { fatalError("test RSA key generation failed: \(error)") }
    }
}
