import Foundation
import NIOCore
import Shared

/// Login sessions: an HttpOnly cookie holds a random id; only its hash is stored.
struct SessionStore: Sendable {
    let database: Database
    let lifetime: TimeInterval

    func create(userID: UUID, now: Date) async throws -> String {
        let id = SecureRandom.token()
        _ = try await database.query("""
            INSERT INTO login_sessions (id_hash, user_id, expires_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(id))), \(userID), \(now.addingTimeInterval(lifetime)))
            """)
        return id
    }

    /// The user behind a live session whose account is still enabled.
    func user(sessionID: String?, now: Date) async throws -> User? {
        guard let sessionID, sessionID.count <= 100 else { return nil }
        let rows = try await database.query("""
            SELECT u.id, u.username, u.disabled, u.created_at FROM login_sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id_hash = \(ByteBuffer(bytes: Digest.sha256(sessionID))) AND s.expires_at > \(now) AND NOT u.disabled
            """)
        guard let row = rows.first else { return nil }
        let (id, username, disabled, created) = try row.decode((UUID, String, Bool, Date).self)
        return User(id: id, username: username, disabled: disabled, createdAt: created)
    }
}
