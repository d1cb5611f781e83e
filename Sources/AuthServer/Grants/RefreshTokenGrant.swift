import Foundation
import NIOCore
import PostgresNIO
import Shared

/// `grant_type=refresh_token` (OAuth 2.1 §4.3) with rotation, reuse detection and a grace window.
///
/// RFC 6749 §6: "The requested scope MUST NOT include any scope not originally granted by the
/// resource owner, and if omitted is treated as equal to the scope originally granted."
/// The registered `grant_types` are not enforced here: the Swift SDK registers only
/// `authorization_code` and refreshes anyway.
struct RefreshTokenGrant: Grant {
    static let grantType = "refresh_token"
    let env: AuthServerEnvironment

    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse {
        let presented = try form.required("refresh_token")
        let requestedScope = try form.single("scope").map(ScopeSet.init)
        let signer = try await env.keys.currentSigner()
        let now = env.clock.now()
        let env = self.env
        let hash = Digest.sha256(presented)
        let outcome: GrantOutcome = try await env.database.transaction { connection in
            let rows = try await connection.query("""
                SELECT r.expires_at, r.rotated_at, r.replay_sealed, r.scope, f.id, f.client_id, f.user_id, f.resource,
                       f.revoked_at IS NOT NULL,
                       COALESCE((SELECT s.rotated_at IS NOT NULL FROM refresh_tokens s WHERE s.token_hash = r.successor_hash), false)
                FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                WHERE r.token_hash = \(ByteBuffer(bytes: hash)) FOR UPDATE
                """, logger: connection.logger)
            typealias Row = (Date, Date?, ByteBuffer?, String, UUID, String, UUID, String, Bool, Bool)
            var found: Row?
            for try await row in rows.decode(Row.self) { found = row }
            let state = found.map {
                RefreshDecision.TokenState(expiresAt: $0.0, rotatedAt: $0.1, successorUsed: $0.9, hasSealedReplay: $0.2 != nil,
                                           familyRevoked: $0.8, familyClientID: $0.5)
            }
            switch RefreshDecision.decide(state, clientID: client.clientID, now: now,
                                          grace: TimeInterval(env.configuration.refreshReplayGraceSeconds)) {
            case .refuse(let reason):
                return .refused(.invalidGrant(reason))
            case .reuseDetected:
                guard let found else { return .refused(.invalidGrant("the refresh token is invalid")) }
                try await TokenRevocation.revokeFamily(found.4, reason: "refresh token reused", connection: connection)
                try await AuditLog.record(.refreshReuseDetected, outcome: .failure, clientID: client.clientID,
                                          remoteAddress: context.peerAddress, detail: ["family": found.4.uuidString],
                                          connection: connection)
                env.metrics.refreshReuseDetected.increment()
                return .refused(.invalidGrant("the refresh token was already used; the grant has been revoked"))
            case .replayWithinGrace:
                guard let sealed = found?.2, let answer = try? ReplaySeal.open(Array(buffer: sealed), token: presented) else {
                    return .refused(.invalidGrant("the refresh token is invalid"))
                }
                return .issued(answer)
            case .rotate:
                guard let (_, _, _, tokenScope, familyID, _, userID, resource, _, _) = found else {
                    return .refused(.invalidGrant("the refresh token is invalid"))
                }
                let granted = ScopeSet(tokenScope)
                let scope = requestedScope ?? granted
                guard scope.isSubset(of: granted), !scope.isEmpty else {
                    return .refused(OAuthError(.invalidScope, "the requested scope exceeds the original grant"))
                }
                do { try checkRequestedResource(form, grantedResource: resource) } catch let error as OAuthError {
                    return .refused(error)
                }
                let access = try env.tokens.accessToken(
                    signer: signer, subject: userID, clientID: client.clientID, scope: scope, resource: resource, now: now)
                let next = env.tokens.refreshToken(now: now)
                let response = TokenResponse(access_token: access.token, token_type: "Bearer",
                                             expires_in: env.configuration.accessTokenLifetime, refresh_token: next.token,
                                             scope: scope.description)
                let sealed = try ReplaySeal.seal(response, token: presented)
                // One statement: record the access token, store the successor (same scope as the token it
                // replaces, RFC 6749 §6), and mark this one rotated with its sealed answer.
                _ = try await connection.query("""
                    WITH access AS (
                        INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                        VALUES (\(access.jti), \(familyID), \(client.clientID), \(access.expiresAt))),
                    successor AS (
                        INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at)
                        VALUES (\(next.hash), \(familyID), \(granted.description), \(next.expiresAt)))
                    UPDATE refresh_tokens SET rotated_at = \(now), successor_hash = \(next.hash),
                           replay_sealed = \(ByteBuffer(bytes: sealed))
                    WHERE token_hash = \(ByteBuffer(bytes: hash))
                    """, logger: connection.logger)
                return .issued(response)
            }
        }
        let response = try outcome.response()
        env.metrics.refreshes.increment()
        env.metrics.accessTokensIssued.increment()
        return response
    }
}

/// The answer to a rotation, sealed under a key derived from the refresh token that was
/// rotated. Only someone holding that token can read it again, so the stored copy reveals
/// nothing to a reader of the database, while a retried request gets the same answer.
enum ReplaySeal {
    static func key(for token: String) throws -> KeyEncryptionKey {
        try KeyEncryptionKey(bytes: Digest.sha256(Array("gatehouse refresh replay\u{0}".utf8) + Array(token.utf8)))
    }

    static func seal(_ response: TokenResponse, token: String) throws -> [UInt8] {
        try key(for: token).seal(Array(try JSONEncoder().encode(response)), associatedData: Digest.sha256(token))
    }

    static func open(_ sealed: [UInt8], token: String) throws -> TokenResponse {
        let plain = try key(for: token).open(sealed, associatedData: Digest.sha256(token))
        return try JSONDecoder().decode(TokenResponse.self, from: Data(plain))
    }
}
