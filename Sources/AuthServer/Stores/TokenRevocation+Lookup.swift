import Foundation
import Shared

extension TokenRevocation {
    /// Whether the access token with this `jti` has been revoked (it is in the ledger the
    /// resource servers follow).
    static func isRevoked(jti: String, database: Database) async throws -> Bool {
        try await !database.query("SELECT 1 FROM revoked_access_tokens WHERE jti = \(jti)").isEmpty
    }
}
