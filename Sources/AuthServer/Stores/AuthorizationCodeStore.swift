import Foundation
import NIOCore
import PostgresNIO
import Shared

/// Authorization codes: random, stored as SHA-256 hashes, single use, 60 seconds.
enum AuthorizationCodeStore {
    static func issue(for request: AuthorizationRequest, userID: UUID, lifetime: TimeInterval, now: Date,
                      connection: PostgresConnection) async throws -> String {
        let code = SecureRandom.token()
        // An empty redirect_uri records that the authorization request did not name one.
        let boundRedirect = request.redirectURIWasSent ? request.redirectURI : ""
        _ = try await connection.query("""
            INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, resource, expires_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(code))), \(request.clientID), \(userID), \(boundRedirect),
                    \(request.codeChallenge), \(request.scope), \(request.resource), \(now.addingTimeInterval(lifetime)))
            """, logger: connection.logger)
        return code
    }
}
