import Foundation
import NIOCore
import Shared

/// The account page's view of a person's login sessions (issue 13 item 4): the list with the
/// current one marked, signing out of this one, and signing out everywhere. Sessions are found by
/// the hash of their cookie, never by an id that could be sent in a form.
extension SessionStore {
    /// One live login session, as the account page lists it.
    struct LoginSession: Sendable, Equatable {
        let createdAt: Date
        let expiresAt: Date
        let lastSeenAt: Date?
        /// The browser's `User-Agent` at sign-in, clipped; nil for sessions older than migration 13.
        let userAgent: String?
        /// This is the session of the browser asking.
        let isCurrent: Bool
    }

    /// A `User-Agent` is attacker-chosen text: kept short, and without control characters.
    static func clippedUserAgent(_ value: String?) -> String? {
        guard let value else { return nil }
        let printable = String(String.UnicodeScalarView(value.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }))
        let trimmed = printable.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : String(trimmed.prefix(200))
    }

    /// The user's live sessions, newest first.
    func sessions(ofUser userID: UUID, currentSessionID: String?, now: Date) async throws -> [LoginSession] {
        let current = currentSessionID.map { Digest.sha256($0) } ?? []
        let rows = try await database.query("""
            SELECT id_hash, created_at, expires_at, last_seen_at, user_agent FROM login_sessions
            WHERE user_id = \(userID) AND expires_at > \(now)
            ORDER BY created_at DESC
            """)
        return try rows.map { row in
            let columns = row.columns
            let hash: ByteBuffer = try columns["id_hash"]
            return LoginSession(createdAt: try columns["created_at"], expiresAt: try columns["expires_at"],
                                lastSeenAt: try columns["last_seen_at"], userAgent: try columns["user_agent"],
                                isCurrent: !current.isEmpty && Array(buffer: hash) == current)
        }
    }

    /// Records that the session was used, at most once a minute (the account page and the
    /// authorization flow call this; it is not worth a write per page view).
    func touch(sessionID: String?, now: Date) async throws {
        guard let sessionID, sessionID.count <= 100 else { return }
        _ = try await database.query("""
            UPDATE login_sessions SET last_seen_at = \(now)
            WHERE id_hash = \(ByteBuffer(bytes: Digest.sha256(sessionID)))
              AND (last_seen_at IS NULL OR last_seen_at < \(now.addingTimeInterval(-60)))
            """)
    }

    /// Ends one session (`POST /logout`); returns whose it was, or nil when it did not exist.
    func delete(sessionID: String?) async throws -> UUID? {
        guard let sessionID, sessionID.count <= 100 else { return nil }
        let rows = try await database.query("""
            DELETE FROM login_sessions WHERE id_hash = \(ByteBuffer(bytes: Digest.sha256(sessionID))) RETURNING user_id
            """)
        return try rows.first?.decode(UUID.self)
    }

    /// "Sign out everywhere": every session of the user, this one included, in one statement.
    /// Returns how many there were.
    func deleteAll(ofUser userID: UUID) async throws -> Int {
        try await database.query("DELETE FROM login_sessions WHERE user_id = \(userID) RETURNING 1").count
    }
}
