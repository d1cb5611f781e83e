import Foundation
import PostgresNIO
import Shared
import TestSupport

/// Writes to `revoked_access_tokens` the way the authorization server does when it revokes a token.
enum RevocationFixture {
    static func revoke(jti: String, expiresAt: Date) async throws {
        try await TestDatabase.withDatabase { database in
            _ = try await database.query(
                "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (\(jti), \(expiresAt)) ON CONFLICT (jti) DO NOTHING")
        }
    }
}
