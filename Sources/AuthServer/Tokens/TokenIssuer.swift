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
    /// OpenID Connect Core §3.1.3.3, when `openid` was granted.
    var id_token: String? = nil
    /// RFC 8693 §2.2.1, token exchange only.
    var issued_token_type: String? = nil
}

/// Mints RFC 9068 access tokens and opaque refresh tokens. Minting touches no database: each grant
/// records what it minted in the one statement that completes it, so a grant is a single write
/// round trip inside its transaction and everything commits or rolls back together.
struct TokenIssuer: Sendable {
    let keys: SigningKeyStore
    let issuer: String
    let accessTokenLifetime: Int
    let refreshTokenLifetime: Int

    struct AccessToken: Sendable {
        let token: String
        let jti: String
        let expiresAt: Date
    }

    struct RefreshToken: Sendable {
        let token: String
        /// Only this is stored.
        var hash: ByteBuffer { ByteBuffer(bytes: Digest.sha256(token)) }
        let expiresAt: Date
    }

    /// RFC 9068 §2.2: iss, exp, aud, sub, client_id, iat, jti are required; `scope` carries the grant.
    func accessToken(signer: SigningKeyStore.Signer, subject: UUID, clientID: String, scope: ScopeSet,
                     resource: String, now: Date) throws -> AccessToken {
        let issuedAt = Int(now.timeIntervalSince1970)
        let jti = SecureRandom.token(byteCount: 16)
        let claims = AccessTokenClaims(
            iss: issuer, sub: subject.uuidString.lowercased(), aud: .one(resource), client_id: clientID,
            scope: scope.description, iat: issuedAt, exp: issuedAt + accessTokenLifetime, nbf: nil, jti: jti)
        let token = try JWTSigner.sign(claims, key: signer.key, keyID: signer.kid, type: JOSEType.accessToken)
        return AccessToken(token: token, jti: jti, expiresAt: now.addingTimeInterval(TimeInterval(accessTokenLifetime)))
    }

    /// An OpenID Connect ID token for `user`, to `clientID`, alongside `accessToken`
    /// (see `IDTokenClaims` for what goes in). Signed with the same key as the access token, with
    /// `typ: JWT` so neither can be mistaken for the other (RFC 8725 §3.11).
    func idToken(signer: SigningKeyStore.Signer, user: User, clientID: String, scope: ScopeSet, nonce: String?,
                 authTime: Date, accessToken: String, now: Date) throws -> String {
        let claims = IDTokenClaims(issuer: issuer, user: user, clientID: clientID, scope: scope, nonce: nonce,
                                   authTime: authTime, accessToken: accessToken, now: now, lifetime: accessTokenLifetime)
        return try JWTSigner.sign(claims, key: signer.key, keyID: signer.kid, type: IDTokenClaims.type)
    }

    func refreshToken(now: Date) -> RefreshToken {
        RefreshToken(token: SecureRandom.token(), expiresAt: now.addingTimeInterval(TimeInterval(refreshTokenLifetime)))
    }

    /// The key that signs now (see `SigningKeyStore.currentSigner`).
    func currentSigner() async throws -> SigningKeyStore.Signer { try await keys.currentSigner() }

    /// The one shape of a token response (RFC 6749 §5.1), for every grant.
    func response(access: AccessToken, refresh: RefreshToken, scope: String, idToken: String? = nil) -> TokenResponse {
        TokenResponse(access_token: access.token, token_type: "Bearer", expires_in: accessTokenLifetime,
                      refresh_token: refresh.token, scope: scope, id_token: idToken)
    }
}
