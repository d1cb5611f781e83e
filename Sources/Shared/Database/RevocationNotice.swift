/// What the authorization server announces with `NOTIFY gatehouse_revocations` inside a revoking
/// transaction, and what the resource servers' `LISTEN` parses: one item of a payload. The
/// announcement only makes refusal immediate in practice; the resource servers' poll of
/// `revoked_access_tokens` and `revoked_signing_keys` stays the guarantee.
///
/// A payload is space-separated items: `jti:exp` for a revoked access token (exp in seconds since
/// 1970), `key=kid` for a signing key retired after a compromise. A kid is base64url and a jti a
/// UUID, so neither contains `:`, `=` or a space.
public enum RevocationNotice: Sendable, Hashable {
    case accessToken(jti: String, expiresAt: Int)
    case signingKey(kid: String)

    /// The `LISTEN`/`NOTIFY` channel both services use.
    public static let channel = "gatehouse_revocations"
    /// Items per payload: 100 `jti:exp` pairs stay well under PostgreSQL's 8000-byte limit.
    public static let itemsPerPayload = 100
    static let keyPrefix = "key="

    /// The item as it travels in a payload.
    public func encode() -> String {
        switch self {
        case .accessToken(let jti, let expiresAt): "\(jti):\(expiresAt)"
        case .signingKey(let kid): Self.keyPrefix + kid
        }
    }

    /// One item of a payload, or nil when it is neither a `jti:exp` pair nor a `key=kid`.
    public init?(payload item: some StringProtocol) {
        if item.hasPrefix(Self.keyPrefix) {
            let kid = item.dropFirst(Self.keyPrefix.count)
            guard !kid.isEmpty, !kid.contains("="), !kid.contains(" ") else { return nil }
            self = .signingKey(kid: String(kid))
            return
        }
        let parts = item.split(separator: ":")
        guard parts.count == 2, !parts[0].isEmpty, !parts[0].contains(" "), let exp = Int(parts[1]) else { return nil }
        self = .accessToken(jti: String(parts[0]), expiresAt: exp)
    }

    /// Every item of a payload that parses; anything else is ignored, so a newer sender's item
    /// kind does not stop an older listener from reading the rest.
    public static func decode(_ payload: String) -> [RevocationNotice] {
        payload.split(separator: " ").compactMap { RevocationNotice(payload: $0) }
    }

    /// The payloads that carry `notices`, `itemsPerPayload` items each; none for no notices.
    public static func payloads(_ notices: [RevocationNotice]) -> [String] {
        stride(from: 0, to: notices.count, by: itemsPerPayload).map { start in
            notices[start..<min(start + itemsPerPayload, notices.count)].map { $0.encode() }.joined(separator: " ")
        }
    }
}
