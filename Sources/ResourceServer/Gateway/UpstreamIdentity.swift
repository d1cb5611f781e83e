import HTTPTypes
import Logging
import NIOHTTP1

/// What an upstream learns about the caller, and the one place that decides it.
///
/// MCP authorization (Token Passthrough): "MCP servers MUST NOT pass through the token it received
/// from the MCP client." The client's `Authorization` never reaches an upstream: `UpstreamHeaders`
/// forwards an allow-list that does not contain it, and `removeClientSupplied` strips it (with
/// cookies and every `X-Gatehouse-*` a client might send to impersonate someone) from whatever is
/// left. Then, per the resource's `identity` settings:
/// - `headers`: `X-Gatehouse-Subject`, `X-Gatehouse-Username`, `X-Gatehouse-Client-Id` and
///   `X-Gatehouse-Scopes`, set by the gateway only, for upstreams on loopback or a private network;
/// - `token`: `Authorization: Bearer <token>` with a token of the upstream's own, obtained by
///   RFC 8693 token exchange (audience = the upstream URL), which it can verify against our JWKS.
struct UpstreamIdentity: Sendable {
    struct Options: Sendable, Equatable {
        var token = false
        var headers = false
        init(token: Bool = false, headers: Bool = false) {
            self.token = token
            self.headers = headers
        }
    }

    static let subject = HTTPField.Name("X-Gatehouse-Subject")!
    static let username = HTTPField.Name("X-Gatehouse-Username")!
    static let clientID = HTTPField.Name("X-Gatehouse-Client-Id")!
    static let scopes = HTTPField.Name("X-Gatehouse-Scopes")!
    static let headerPrefix = "x-gatehouse-"

    let options: Options
    /// The upstream URL: the `audience` of the exchanged token.
    let audience: String
    let usernames: UsernameStore?
    let exchange: TokenExchangeClient?

    init(options: Options, audience: String, usernames: UsernameStore?, exchange: TokenExchangeClient?) {
        self.options = options
        self.audience = audience
        self.usernames = usernames
        self.exchange = exchange
    }

    /// No identity at all: the upstream sees an anonymous, already-authorized request.
    static func none(audience: String) -> UpstreamIdentity {
        UpstreamIdentity(options: Options(), audience: audience, usernames: nil, exchange: nil)
    }

    /// Credentials and identity claims only the gateway may set.
    static func removeClientSupplied(from headers: inout HTTPHeaders) {
        for name in headers.map(\.name) {
            let lowered = name.lowercased()
            if lowered == "authorization" || lowered == "proxy-authorization" || lowered == "cookie"
                || lowered.hasPrefix(headerPrefix) {
                headers.remove(name: name)
            }
        }
    }

    /// The username for the `X-Gatehouse-Username` header (also for stdio upstreams' environment).
    func username(of identity: VerifiedIdentity) async -> String? {
        guard let usernames else { return nil }
        return try? await usernames.username(subject: identity.subject)
    }

    /// Adds what `options` asks for. Throws when no token can be obtained for the upstream.
    func apply(to headers: inout HTTPHeaders, for request: UpstreamRequest, logger: Logger) async throws(TokenExchangeError) {
        Self.removeClientSupplied(from: &headers)
        // Issue 12: the user's own token at each connection of the resource, set only here (any
        // X-Gatehouse-Connection-* the client sent was removed with the rest of X-Gatehouse-*).
        for token in request.connectionTokens {
            headers.add(name: token.headerName, value: token.value)
        }
        if options.headers {
            let identity = request.identity
            headers.add(name: Self.subject.rawName, value: identity.subject)
            if let username = await username(of: identity) {
                headers.add(name: Self.username.rawName, value: username)
            }
            headers.add(name: Self.clientID.rawName, value: identity.clientID)
            headers.add(name: Self.scopes.rawName, value: identity.scopes.description)
        }
        if options.token {
            guard let exchange else { throw .unavailable("identity.token is set but the ResourceServer has no client credentials") }
            let token = try await exchange.token(subjectToken: request.accessToken, tokenID: request.identity.tokenID,
                                                 audience: audience, logger: logger)
            headers.replaceOrAdd(name: "Authorization", value: "Bearer \(token)")
        }
    }
}
