import Foundation
import NIOCore
import PostgresNIO
import Shared

/// Authorization codes: random, stored as SHA-256 hashes, single use, 60 seconds.
enum AuthorizationCodeStore {
    static func issue(for request: AuthorizationRequest, userID: UUID, lifetime: TimeInterval, now: Date,
                      connection: PostgresConnection) async throws -> String {
        let code = SecureRandom.token()
        _ = try await connection.query("""
            INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, resource, expires_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(code))), \(request.clientID), \(userID), \(request.redirectURI),
                    \(request.codeChallenge), \(request.scope), \(request.resource), \(now.addingTimeInterval(lifetime)))
            """, logger: connection.logger)
        return code
    }
}
