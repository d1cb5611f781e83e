import Foundation
import PostgresNIO
import Shared

/// The ResourceServer's read of `api_keys` (created by `AuthServer tokens create`): a key by the
/// SHA-256 of its random part, with its user's `disabled` flag, and the `last_used_at` stamp.
struct APIKeyLookup: Sendable {
    struct Row: Sendable, Equatable {
        let id: UUID
        let userID: UUID
        let clientLabel: String
        let resource: String
        let scope: String
        let expiresAt: Date
        let revoked: Bool
        let userDisabled: Bool
    }

    let database: Database

    func find(hash: [UInt8]) async throws -> Row? {
        let rows = try await database.query("""
            SELECT k.id, k.user_id, k.client_label, k.resource, k.scope, k.expires_at,
                   k.revoked_at IS NOT NULL AS revoked, u.disabled AS user_disabled
            FROM api_keys k JOIN users u ON u.id = k.user_id
            WHERE k.secret_hash = \(ByteBuffer(bytes: hash))
            """)
        return try rows.first.map { row in
            let columns = row.columns
            return Row(id: try columns["id"], userID: try columns["user_id"], clientLabel: try columns["client_label"],
                       resource: try columns["resource"], scope: try columns["scope"], expiresAt: try columns["expires_at"],
                       revoked: try columns["revoked"], userDisabled: try columns["user_disabled"])
        }
    }

    /// Stamps `last_used_at`, unless another replica did within the last `interval` seconds.
    func touch(id: UUID, now: Date, interval: Int) async throws {
        let earlier = now.addingTimeInterval(-TimeInterval(interval))
        _ = try await database.query("""
            UPDATE api_keys SET last_used_at = \(now)
            WHERE id = \(id) AND (last_used_at IS NULL OR last_used_at <= \(earlier))
            """)
    }
}
