import Shared

/// Who is calling, as established by a validated access token. Built only by `TokenValidator`
/// (or the benchmark-only bypass) and handed to tool handlers as a value, so nothing a client
/// sends in headers or arguments can change it.
struct VerifiedIdentity: Sendable, Hashable {
    /// RFC 9068 §2.2 `sub`: the resource owner; notes are keyed by it.
    let subject: String
    let clientID: String
    let scopes: ScopeSet
    /// The token's `jti`, checked against the revocation feed on every request.
    let tokenID: String

    func has(scopes required: [String]) -> Bool {
        required.allSatisfy(scopes.contains)
    }
}
