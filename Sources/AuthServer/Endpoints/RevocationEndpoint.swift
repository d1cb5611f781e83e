import Foundation
import Hummingbird
import NIOCore
import PostgresNIO
import Shared

/// `POST /revoke` (RFC 7009). A refresh token revokes its whole family; an access token is
/// recorded so the resource servers refuse it within a second (they share the database).
///
/// RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if the token has
/// been revoked successfully or if the client submitted an invalid token." A token of another
/// client is left alone, with the same 200, so the endpoint is no oracle.
struct RevocationEndpoint: Sendable {
    let env: AuthServerEnvironment
    let authenticator: ClientAuthenticator
    let verifier: AccessTokenVerifier

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
        return Response(status: .ok, headers: [.cacheControl: "no-store", .contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(string: "{}")))
    }

    private func revokeRefreshToken(_ token: String, client: Client, context: AuthRequestContext) async throws {
        let env = self.env
        try await env.database.transaction { connection in
            let rows = try await connection.query("""
                SELECT f.id FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                WHERE r.token_hash = \(ByteBuffer(bytes: Digest.sha256(token))) AND f.client_id = \(client.clientID)
                """, logger: connection.logger)
            for try await familyID in rows.decode(UUID.self) {
                try await TokenRevocation.revokeFamily(familyID, reason: "revoked by client", connection: connection)
                try await AuditLog.record(.tokenFamilyRevoked, clientID: client.clientID, remoteAddress: context.peerAddress,
                                          detail: ["family": familyID.uuidString, "reason": "revocation endpoint"],
                                          connection: connection)
            }
        }
    }

    /// Only a token we signed, for this client, is recorded: anything else is ignored.
    private func revokeAccessToken(_ token: String, client: Client) async throws {
        guard let claims = try await verifier.signedClaims(token, where: { $0.client_id == client.clientID }) else { return }
        try await env.database.transaction { connection in
            try await TokenRevocation.revokeAccessToken(
                jti: claims.jti, expiresAt: Date(timeIntervalSince1970: TimeInterval(claims.exp)), connection: connection)
        }
    }
}
