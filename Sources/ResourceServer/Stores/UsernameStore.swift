import Foundation
import NIOConcurrencyHelpers
import PostgresNIO
import Shared

/// Usernames by subject, read from the AuthServer's `users` table (the shared database) for the
/// `X-Gatehouse-Username` header. A token's `sub` is the user's uuid (stable across renames); the
/// username is what an upstream shows people. Cached for `lifetime` seconds, so a rename reaches
/// upstreams within that time and the hot path does no query; bounded like the token cache.
final class UsernameStore: Sendable {
    private struct Entry: Sendable {
        var username: String?
        var fetchedAt: Int
    }

    let database: Database
    let clock: Clock
    let lifetime: Int
    let capacity: Int
    private let entries = NIOLockedValueBox<[String: Entry]>([:])

    init(database: Database, clock: Clock = .system, lifetime: Int = 60, capacity: Int = 50_000) {
        self.database = database
        self.clock = clock
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// The username of the user `subject` names, or nil when there is none (a benchmark identity,
    /// a deleted user). A subject that is not a uuid is never looked up.
    func username(subject: String) async throws -> String? {
        let now = clock.seconds
        if let entry = entries.withLockedValue({ $0[subject] }), now - entry.fetchedAt < lifetime {
            return entry.username
        }
        guard let id = UUID(uuidString: subject) else { return nil }
        let rows = try await database.query("SELECT username FROM users WHERE id = \(id)")
        let username = try rows.first.map { try $0.decode(String.self) }
        entries.withLockedValue { entries in
            if entries.count >= capacity {
                entries = entries.filter { now - $0.value.fetchedAt < lifetime }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[subject] = Entry(username: username, fetchedAt: now)
        }
        return username
    }
}
