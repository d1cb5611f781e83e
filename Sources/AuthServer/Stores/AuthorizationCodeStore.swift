import Foundation
import NIOCore
import PostgresNIO
import Shared

/// Authorization codes: random, stored as SHA-256 hashes, single use, 60 seconds.
enum AuthorizationCodeStore {
    /// Issues a code for the person signed in with `sessionID`, or returns nil when that session
    /// has ended (expired, or deleted by `users disable` / `users set-password`). The session row
    /// is share-locked by the same statement, so a concurrent revocation either waits for this
    /// code and then deletes it too, or commits first and no code is issued.
    ///
    /// The code keeps the request's `nonce` and the session's sign-in time (`auth_time`) for
    /// the ID token (OpenID Connect Core §3.1.3.3, §2).
    static func issue(for request: AuthorizationRequest, userID: UUID, sessionID: String?, lifetime: TimeInterval,
                      now: Date, connection: PostgresConnection) async throws -> String? {
        guard let sessionID, sessionID.count <= 100 else { return nil }
        let code = SecureRandom.token()
        // An empty redirect_uri records that the authorization request did not name one.
        let boundRedirect = request.redirectURIWasSent ? request.redirectURI : ""
        let rows = try await connection.query("""
            INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, resource,
                                             nonce, auth_time, expires_at)
            SELECT \(ByteBuffer(bytes: Digest.sha256(code))), \(request.clientID), \(userID), \(boundRedirect),
                   \(request.codeChallenge), \(request.scope), \(request.resource), \(request.nonce), s.created_at,
                   \(now.addingTimeInterval(lifetime))
            FROM login_sessions s
            WHERE s.id_hash = \(ByteBuffer(bytes: Digest.sha256(sessionID))) AND s.user_id = \(userID) AND s.expires_at > \(now)
            FOR SHARE OF s
            RETURNING user_id
            """, logger: connection.logger)
        for try await _ in rows { return code }
        return nil
    }
}
