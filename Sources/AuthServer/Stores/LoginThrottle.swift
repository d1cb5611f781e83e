import Foundation
import PostgresNIO
import Shared

/// Slows password guessing, per account and per remote address, across every replica.
///
/// The counters are the `login_failed` rows of the audit log itself (the index on
/// `audit_events (kind, occurred_at)` bounds each count to one window), so there is no second
/// source of truth to keep in step and a restart forgets nothing. A successful login resets the
/// account's counter but not the address's: one attacker with one valid account must not be able
/// to launder failures against other accounts.
///
/// The login endpoint records `login_failed` with the username as typed and `login` on success;
/// the comparison here is case-insensitive, like usernames.
struct LoginThrottle: Sendable {
    enum Decision: Equatable, Sendable {
        case allowed
        case throttled(retryAfterSeconds: Int)
    }

    let database: Database
    let maxFailuresPerAccount: Int
    let maxFailuresPerAddress: Int
    let window: TimeInterval

    init(database: Database, maxFailuresPerAccount: Int = 5, maxFailuresPerAddress: Int = 20, window: TimeInterval = 900) {
        precondition(maxFailuresPerAccount > 0 && maxFailuresPerAddress > 0 && window > 0)
        self.database = database
        self.maxFailuresPerAccount = maxFailuresPerAccount
        self.maxFailuresPerAddress = maxFailuresPerAddress
        self.window = window
    }

    func check(username: String, remoteAddress: String, now: Date) async throws -> Decision {
        let since = now.addingTimeInterval(-window)
        let account = try await limitingFailure(accountOf: username, since: since)
        let address = try await limitingFailure(address: remoteAddress, since: since)
        return Self.decide(limitingFailures: [account, address].compactMap { $0 }, window: window, now: now)
    }

    /// Throttled until the failure that makes the count reach the limit leaves the window
    /// (then the count drops below the limit); with both limits hit, the later of the two.
    static func decide(limitingFailures: [Date], window: TimeInterval, now: Date) -> Decision {
        guard let latest = limitingFailures.max() else { return .allowed }
        let remaining = latest.addingTimeInterval(window).timeIntervalSince(now)
        return .throttled(retryAfterSeconds: max(1, Int(remaining.rounded(.up))))
    }

    /// The time of the N-th most recent failure for this account since its last successful
    /// login (N = the limit), or nil when there are fewer than N.
    private func limitingFailure(accountOf rawUsername: String, since: Date) async throws -> Date? {
        let username = (AuditLog.clip(rawUsername) ?? "").lowercased()
        let rows = try await database.query("""
            SELECT occurred_at FROM audit_events
            WHERE kind = 'login_failed' AND occurred_at > \(since) AND lower(username) = \(username)
              AND occurred_at > coalesce((
                  SELECT max(occurred_at) FROM audit_events
                  WHERE kind = 'login' AND outcome = 'success' AND occurred_at > \(since) AND lower(username) = \(username)
              ), '-infinity'::timestamptz)
            ORDER BY occurred_at DESC OFFSET \(maxFailuresPerAccount - 1) LIMIT 1
            """)
        return try rows.first?.decode(Date.self)
    }

    private func limitingFailure(address rawAddress: String, since: Date) async throws -> Date? {
        let address = AuditLog.clip(rawAddress) ?? ""
        let rows = try await database.query("""
            SELECT occurred_at FROM audit_events
            WHERE kind = 'login_failed' AND occurred_at > \(since) AND remote_address = \(address)
            ORDER BY occurred_at DESC OFFSET \(maxFailuresPerAddress - 1) LIMIT 1
            """)
        return try rows.first?.decode(Date.self)
    }
}
