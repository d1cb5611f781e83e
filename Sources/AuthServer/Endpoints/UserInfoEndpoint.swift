import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// `GET` and `POST /userinfo` (OpenID Connect Core §5.3): the claims about the person behind an
/// access token of ours that carries `openid`.
///
/// §5.3.1: "The Client sends the UserInfo Request using either HTTP GET or HTTP POST. The Access
/// Token obtained from an OpenID Connect Authentication Request MUST be sent as a Bearer Token,
/// per Section 2 of OAuth 2.0 Bearer Token Usage [RFC6750]." Only the Authorization header is
/// read (RFC 6750 §2.1); a token in the query string is never used (§2.3 is not supported, and MCP
/// forbids it). §5.3.3: errors are RFC 6750 §3 challenges: 401 `invalid_token` for a missing,
/// malformed, foreign, expired or revoked token, 403 `insufficient_scope` without `openid`.
struct UserInfoEndpoint: AuthServerEndpoint {
    let verifier: AccessTokenVerifier
    let users: UserStore

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.get("/userinfo") { request, context in try await self.handle(request, context: context) }
        router.post("/userinfo") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let token = try Self.bearerToken(request)
        guard let claims = try await verifier.verify(token) else {
            throw Self.challenge(.invalidToken, .unauthorized, "the access token is invalid, expired or revoked")
        }
        let scope = ScopeSet(claims.scope)
        guard scope.contains(ScopeCatalog.openID) else {
            throw Self.challenge(.insufficientScope, .forbidden, "the access token was not granted the openid scope",
                                 scope: ScopeCatalog.openID)
        }
        // A disabled user's tokens are revoked; a deleted one's subject no longer exists.
        guard let id = UUID(uuidString: claims.sub), let user = try await users.find(id: id), !user.disabled else {
            throw Self.challenge(.invalidToken, .unauthorized, "the access token's user no longer exists")
        }
        return try JSONResponse.noStore(UserInfoClaims(user: user, scope: scope))
    }

    /// RFC 6750 §2.1 `Authorization: Bearer b64token`, the scheme case-insensitive.
    static func bearerToken(_ request: Request) throws -> String {
        let headers = request.headers[values: .authorization]
        // RFC 6750 §3.1: beside the header a query token is "more than one method" (400); alone it
        // is an unsupported method, answered like no token at all (the bare challenge below).
        if request.uri.queryParameters["access_token"] != nil, !headers.isEmpty {
            throw challenge(.invalidRequest, .badRequest, "send the access token in the Authorization header only")
        }
        guard headers.count <= 1 else { throw challenge(.invalidRequest, .badRequest, "more than one Authorization header") }
        guard let header = headers.first, header.count > 7, header.prefix(7).lowercased() == "bearer " else {
            // RFC 6750 §3.1: "If the request lacks any authentication information …, the resource
            // server SHOULD NOT include an error code or other error information" in the challenge.
            throw OAuthError(.invalidToken, status: .unauthorized, "an access token is required",
                             headers: [.wwwAuthenticate: #"Bearer realm="gatehouse""#])
        }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        guard !token.isEmpty, token.utf8.count <= JWTParser.maximumTokenLength else {
            throw challenge(.invalidToken, .unauthorized, "the access token is malformed")
        }
        return token
    }

    /// RFC 6750 §3: `WWW-Authenticate: Bearer realm=…, error=…, error_description=…[, scope=…]`.
    static func challenge(_ code: OAuthError.Code, _ status: HTTPResponse.Status, _ description: String,
                          scope: String? = nil) -> OAuthError {
        var header = #"Bearer realm="gatehouse", error="\#(code.rawValue)", error_description="\#(description)""#
        if let scope { header += #", scope="\#(scope)""# }
        return OAuthError(code, status: status, description, headers: [.wwwAuthenticate: header])
    }
}
