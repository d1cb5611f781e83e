import Foundation
import NIOCore
import Shared

/// Login sessions: an HttpOnly cookie holds a random id; only its hash is stored.
///
/// `created_at` is the moment the person signed in with their password: the ID token's
/// `auth_time` (OpenID Connect Core §2: "Time when the End-User authentication occurred").
/// It is written from the injected clock, like the expiry, so both use one time source.
struct SessionStore: Sendable {
    let database: Database
    let lifetime: TimeInterval

    /// `userAgent` (the browser's `User-Agent`, clipped) lets the account page name the device.
    func create(userID: UUID, now: Date, userAgent: String? = nil) async throws -> String {
        let id = SecureRandom.token()
        _ = try await database.query("""
            INSERT INTO login_sessions (id_hash, user_id, created_at, expires_at, user_agent, last_seen_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(id))), \(userID), \(now), \(now.addingTimeInterval(lifetime)),
                    \(Self.clippedUserAgent(userAgent)), \(now))
            """)
        return id
    }

    /// The user behind a live session whose account is still enabled.
    func user(sessionID: String?, now: Date) async throws -> User? {
        guard let sessionID, sessionID.count <= 100 else { return nil }
        let rows = try await database.query("""
            SELECT u.id, u.username, u.disabled, u.created_at, u.email, u.email_verified, u.name
            FROM login_sessions s JOIN users u ON u.id = s.user_id
            WHERE s.id_hash = \(ByteBuffer(bytes: Digest.sha256(sessionID))) AND s.expires_at > \(now) AND NOT u.disabled
            """)
        return try rows.first.map(UserStore.user(from:))
    }
}
