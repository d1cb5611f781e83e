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
    /// The caller's connections on this resource (issue 12: "the built-in tools reach it through
    /// the verified identity"), attached by `MCPEndpoint` after validation and resolved only when
    /// a tool asks. Not part of who the caller is: equality and hashing leave it out.
    var connections: CallerConnections = .none

    func has(scopes required: [String]) -> Bool {
        required.allSatisfy(scopes.contains)
    }

    static func == (lhs: VerifiedIdentity, rhs: VerifiedIdentity) -> Bool {
        lhs.subject == rhs.subject && lhs.clientID == rhs.clientID && lhs.scopes == rhs.scopes && lhs.tokenID == rhs.tokenID
    }

    func hash(into hasher: inout Hasher) {
        hasher.combine(subject)
        hasher.combine(clientID)
        hasher.combine(scopes)
        hasher.combine(tokenID)
    }
}
