import Foundation

/// Binds a connect link handed out in a URL-mode elicitation to the user it was made for.
///
/// MCP 2025-11-25 (Client: Elicitation, Phishing): "the server MUST ensure that the user who
/// started the elicitation request (the end-user who is accessing the server via the MCP client)
/// is the same user who completes the authorization flow", and "MUST ensure that the mechanism to
/// determine the user's identity is resilient to attacks where an attacker can modify the
/// elicitation URL". The ResourceServer appends `?elicitation=<token>` to the connect link; the
/// AuthServer's connect page checks it against the user signed in to that browser.
///
/// The token is `base64url(expiry (8 bytes, big-endian seconds) ‖ AES-256-GCM seal of nothing)`
/// under the key-encryption key both services already hold when there are connections, with
/// (user id, connection id, expiry) as associated data: the GCM tag is a MAC over them (NIST SP
/// 800-38D GMAC). It names nobody (no personal information in the URL, as the same section asks),
/// authorises nothing by itself (the page still needs the Gatehouse session), and a changed user,
/// connection or expiry does not verify. It is also the elicitation's `elicitationId`: unique per
/// elicitation (random nonce).
public struct ConnectLinkBinding: Sendable, CustomStringConvertible {
    /// The query parameter of the connect link.
    public static let parameter = "elicitation"
    /// How long a link stays good: long enough to read it and sign in, short enough that an old
    /// link found later is refused.
    public static let lifetime: TimeInterval = 3600

    public enum Verdict: Sendable, Equatable {
        case valid
        case expired
        /// Made for another user or connection, altered, or no token at all.
        case invalid
    }

    private let kek: KeyEncryptionKey

    public init(kek: KeyEncryptionKey) {
        self.kek = kek
    }

    public var description: String { "ConnectLinkBinding(\(kek))" }

    /// A token for `userID` and `connectionID`, good until `now + lifetime`.
    public func token(userID: UUID, connectionID: String, now: Date) throws -> String {
        let expiry = UInt64(max(0, now.timeIntervalSince1970 + Self.lifetime))
        let tag = try kek.seal([], associatedData: Self.associatedData(userID: userID, connectionID: connectionID, expiry: expiry))
        return Base64URL.encode(Self.bytes(expiry) + tag)
    }

    public func verify(_ token: String, userID: UUID, connectionID: String, now: Date) -> Verdict {
        guard let bytes = Base64URL.decode(token), bytes.count > 8 else { return .invalid }
        let expiry = bytes.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let associated = Self.associatedData(userID: userID, connectionID: connectionID, expiry: expiry)
        guard (try? kek.open(Array(bytes.dropFirst(8)), associatedData: associated)) != nil else { return .invalid }
        return Double(expiry) < now.timeIntervalSince1970 ? .expired : .valid
    }

    /// `gatehouse-connect-link-v1 NUL user-id NUL connection-id NUL expiry`: NUL occurs in none of them.
    static func associatedData(userID: UUID, connectionID: String, expiry: UInt64) -> [UInt8] {
        Array("gatehouse-connect-link-v1\u{0}\(userID.uuidString.lowercased())\u{0}\(connectionID)\u{0}\(expiry)".utf8)
    }

    static func bytes(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * UInt64($0))) }
    }
}
