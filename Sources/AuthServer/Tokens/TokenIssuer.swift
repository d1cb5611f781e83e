import Foundation
import NIOCore
import PostgresNIO
import Shared

/// The token response of RFC 6749 §5.1.
struct TokenResponse: Codable, Sendable, Equatable {
    var access_token: String
    var token_type: String
    var expires_in: Int
    var refresh_token: String?
    var scope: String
}

/// Mints RFC 9068 access tokens and opaque refresh tokens. Inserts happen on the caller's
/// connection so that they commit or roll back with the grant that issued them.
struct TokenIssuer: Sendable {
    let keys: SigningKeyStore
    let issuer: String
    let accessTokenLifetime: Int
    let refreshTokenLifetime: Int

    /// RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required; `scope` carries the grant.
    func accessToken(signer: SigningKeyStore.Signer, subject: UUID, clientID: String, scope: ScopeSet,
                     resource: String, familyID: UUID?, now: Date, connection: PostgresConnection) async throws -> String {
        let issuedAt = Int(now.timeIntervalSince1970)
        let jti = SecureRandom.token(byteCount: 16)
        let claims = AccessTokenClaims(
            iss: issuer, sub: subject.uuidString.lowercased(), aud: .one(resource), client_id: clientID,
            scope: scope.description, iat: issuedAt, exp: issuedAt + accessTokenLifetime, nbf: nil, jti: jti)
        let token = try JWTSigner.sign(claims, key: signer.key, keyID: signer.kid, type: "at+jwt")
        // Recorded so that revoking the grant can list the access tokens the resource servers must refuse.
        _ = try await connection.query("""
            INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
            VALUES (\(jti), \(familyID), \(clientID), \(now.addingTimeInterval(TimeInterval(accessTokenLifetime))))
            """, logger: connection.logger)
        return token
    }

    /// A new refresh token in `familyID`; only its SHA-256 is stored.
    func refreshToken(familyID: UUID, scope: ScopeSet, expiresAt: Date, connection: PostgresConnection) async throws -> String {
        let token = SecureRandom.token()
        _ = try await connection.query("""
            INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(token))), \(familyID), \(scope.description), \(expiresAt))
            """, logger: connection.logger)
        return token
    }
}
