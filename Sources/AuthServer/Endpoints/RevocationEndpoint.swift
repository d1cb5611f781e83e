import Foundation
import Hummingbird
import NIOCore
import Shared

/// `POST /revoke` (RFC 7009). A refresh token revokes its whole family; an access token is
/// recorded so the resource servers refuse it within a second (they share the database).
///
/// RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if the token has
/// been revoked successfully or if the client submitted an invalid token." A token of another
/// client is left alone, with the same 200, so the endpoint is no oracle.
struct RevocationEndpoint: AuthServerEndpoint {
    let authenticator: ClientAuthenticator
    let verifier: AccessTokenVerifier
    let families: TokenFamilyStore

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/revoke") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        let client = try await authenticator.authenticate(request, form: form)
        let token = try form.required("token")
        let hint = try form.single("token_type_hint")
        if let hint, hint != "access_token" && hint != "refresh_token" {
            throw OAuthError(.unsupportedTokenType, "token_type_hint must be access_token or refresh_token")
        }
        if token.split(separator: ".").count == 3 {
            try await revokeAccessToken(token, client: client)
        } else {
            try await revokeRefreshToken(token, client: client, context: context)
        }
        return JSONResponse.noStore(bytes: ByteBuffer(string: "{}"))
    }

    private func revokeRefreshToken(_ token: String, client: Client, context: AuthRequestContext) async throws {
        let families = self.families
        try await families.transaction { connection in
            for familyID in try await families.familyIDs(ofRefreshToken: Digest.sha256(token), clientID: client.clientID,
                                                         connection: connection) {
                try await families.revokeFamily(familyID, reason: "revoked by client", connection: connection)
                try await AuditLog.record(.tokenFamilyRevoked, clientID: client.clientID, remoteAddress: context.clientAddress,
                                          detail: ["family": familyID.uuidString, "reason": "revocation endpoint"],
                                          connection: connection)
            }
        }
    }

    /// Only a token we signed, for this client, is recorded: anything else is ignored.
    private func revokeAccessToken(_ token: String, client: Client) async throws {
        guard let claims = try await verifier.signedClaims(token, where: { $0.client_id == client.clientID }) else { return }
        try await families.revokeAccessToken(jti: claims.jti, expiresAt: Date(timeIntervalSince1970: TimeInterval(claims.exp)))
    }
}
