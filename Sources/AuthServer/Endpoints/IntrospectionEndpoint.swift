import Foundation
import Hummingbird
import Shared

/// `POST /introspect` (RFC 7662), for confidential clients only.
///
/// RFC 7662 §2.2: "If the introspection call is properly authorized but the token is not active,
/// does not exist on this server, or the protected resource is not allowed to introspect this
/// particular token, then the authorization server MUST return an introspection response with
/// the "active" field set to false."
///
/// RFC 7662 §4: "the authorization server MUST require authentication of protected resources
/// that need to access the introspection endpoint and SHOULD require protected resources to be
/// specifically authorized to call the introspection endpoint." With open registration a client
/// secret proves nothing about being a resource server, so only the clients the operator
/// lists in `GATEHOUSE_INTROSPECTION_CLIENTS` (resource servers) learn about other clients'
/// access tokens; any other confidential client learns only about tokens issued to itself (it
/// holds them anyway), and gets `active: false` for everything else.
struct IntrospectionEndpoint: AuthServerEndpoint {
    let authenticator: ClientAuthenticator
    let verifier: AccessTokenVerifier
    let families: TokenFamilyStore
    /// `GATEHOUSE_INTROSPECTION_CLIENTS`: the resource servers that may ask about any client's token.
    let introspectionClients: Set<String>
    let issuer: String
    let clock: Clock

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/introspect") { request, context in try await self.handle(request, context: context) }
    }

    struct Answer: Encodable {
        var active: Bool
        var scope: String?
        var client_id: String?
        var sub: String?
        var aud: String?
        var iss: String?
        var exp: Int?
        var iat: Int?
        var jti: String?
        var token_type: String?
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        let client = try await authenticator.authenticate(request, form: form)
        guard !client.isPublic else {
            throw OAuthError.invalidClient("introspection is for confidential clients")
        }
        let token = try form.required("token")
        let answer = token.split(separator: ".").count == 3
            ? try await introspectAccessToken(token, client: client) : try await introspectRefreshToken(token, client: client)
        return try JSONResponse.noStore(answer)
    }

    private func introspectAccessToken(_ token: String, client: Client) async throws -> Answer {
        let mayIntrospectAny = introspectionClients.contains(client.clientID)
        guard let claims = try await verifier.verify(token, where: { mayIntrospectAny || $0.client_id == client.clientID })
        else { return Answer(active: false) }
        return Answer(active: true, scope: claims.scope, client_id: claims.client_id, sub: claims.sub,
                      aud: claims.aud.values.first, iss: claims.iss, exp: claims.exp, iat: claims.iat, jti: claims.jti,
                      token_type: "Bearer")
    }

    /// A refresh token is described only to the client it was issued to.
    private func introspectRefreshToken(_ token: String, client: Client) async throws -> Answer {
        guard let found = try await families.activeRefreshToken(
            hash: Digest.sha256(token), clientID: client.clientID, now: clock.now())
        else { return Answer(active: false) }
        return Answer(active: true, scope: found.scope, client_id: found.clientID, sub: found.userID.uuidString.lowercased(),
                      aud: found.resource, iss: issuer, exp: Int(found.expiresAt.timeIntervalSince1970),
                      iat: Int(found.createdAt.timeIntervalSince1970), jti: nil, token_type: "refresh_token")
    }
}
