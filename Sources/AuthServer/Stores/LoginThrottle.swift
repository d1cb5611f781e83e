import Foundation
import Logging
import PostgresNIO
import Shared

/// Slows password guessing, per account and per remote address, across every replica.
///
/// An attempt is *reserved* before the password is hashed: one transaction takes an advisory
/// lock per account and per address, counts the attempts still in the window and, when both are
/// below their limits, inserts a `pending` row in `login_attempts`. Concurrent attempts for the
/// same account or address therefore queue on the lock and each one sees every reservation made
/// before it, on any replica, so at most `limit` passwords are ever checked per window: counting
/// after the check (as this type once did) let 60 parallel guesses get 12 verdicts against a
/// limit of 5. A pending attempt counts as a failure; one that never settles (a crash mid-check)
/// stays counted, which errs on the safe side.
///
/// A successful login resets the account's counter but not the address's: one attacker with
/// one valid account must not be able to launder failures against other accounts. Usernames are
/// compared lowercased; an empty username is limited per address only.
struct LoginThrottle: Sendable {
    enum Decision: Equatable, Sendable {
        case reserved(Reservation)
        case throttled(retryAfterSeconds: Int)
    }

    /// One attempt that may go on to check the password; settle it with the outcome.
    struct Reservation: Equatable, Sendable {
        let id: Int64
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

    /// Reserves an attempt, or says how long to wait. Atomic across processes: see the type.
    /// Four round trips (begin, lock, count-and-insert, commit), because every attempt for a
    /// busy account waits for all those before it.
    func reserve(username rawUsername: String, remoteAddress rawAddress: String, now: Date) async throws -> Decision {
        let account = Self.accountKey(rawUsername)
        let address = AuditLog.clip(rawAddress) ?? ""
        let since = now.addingTimeInterval(-window)
        let (perAccount, perAddress, window) = (maxFailuresPerAccount, maxFailuresPerAddress, self.window)
        return try await database.transaction { connection in
            // Account first, then address (a null account takes no lock: the function is
            // strict). The second lock is the last thing a transaction waits for, so two
            // attempts never wait on each other in a cycle. The next statement's snapshot is
            // taken after both are held, so it sees every reservation committed before.
            _ = try await connection.query("""
                SELECT pg_advisory_xact_lock(\(Self.accountLockClass), hashtext(\(account))),
                       pg_advisory_xact_lock(\(Self.addressLockClass), hashtext(\(address)))
                """, logger: connection.logger)
            let rows = try await connection.query(Self.countAndInsert(
                account: account, address: address, now: now, since: since, perAccount: perAccount, perAddress: perAddress),
                logger: connection.logger)
            for try await row in rows {
                let counted = try CountedRow(columns: row.columns)
                if let id = counted.reservedID { return .reserved(Reservation(id: id)) }
                let limiting = [counted.accountLimit, counted.addressLimit].compactMap { $0 }
                return .throttled(retryAfterSeconds: Self.retryAfter(limitingFailures: limiting, window: window, now: now) ?? 1)
            }
            throw OAuthError.serverError(debug: "login attempt was not recorded")
        }
    }

    /// Records how the reserved attempt ended. A success lifts the account's counter. Best
    /// effort: if this write fails the attempt stays `pending`, which still counts as a failure.
    func settle(_ reservation: Reservation, succeeded: Bool) async {
        let outcome = succeeded ? "succeeded" : "failed"
        do {
            _ = try await database.query(
                "UPDATE login_attempts SET outcome = \(outcome) WHERE id = \(reservation.id)")
        } catch {
            database.logger.warning("could not settle a login attempt", metadata: ["error": "\(error)"])
        }
    }

    /// Seconds until the attempt that makes the count reach the limit leaves the window (then
    /// the count drops below the limit); with both limits hit, the later of the two; nil when
    /// no limit is reached.
    static func retryAfter(limitingFailures: [Date], window: TimeInterval, now: Date) -> Int? {
        guard let latest = limitingFailures.max() else { return nil }
        let remaining = latest.addingTimeInterval(window).timeIntervalSince(now)
        return max(1, Int(remaining.rounded(.up)))
    }

    /// The lowercased, clipped username; nil for an empty one.
    static func accountKey(_ rawUsername: String) -> String? {
        let account = (AuditLog.clip(rawUsername) ?? "").lowercased()
        return account.isEmpty ? nil : account
    }

    // MARK: SQL

    /// One statement: the N-th most recent attempt counted against the account since its last
    /// successful login and against the address (N = each limit; none when there are fewer),
    /// and the new attempt's id, inserted only when neither limit is reached.
    private static func countAndInsert(account: String?, address: String, now: Date, since: Date,
                                       perAccount: Int, perAddress: Int) -> PostgresQuery {
        """
        WITH account_limit AS (
            SELECT attempted_at FROM login_attempts
            WHERE account = \(account) AND attempted_at > \(since) AND outcome <> 'succeeded'
              AND attempted_at > coalesce((
                  SELECT max(attempted_at) FROM login_attempts
                  WHERE account = \(account) AND attempted_at > \(since) AND outcome = 'succeeded'
              ), '-infinity'::timestamptz)
            ORDER BY attempted_at DESC OFFSET \(perAccount - 1) LIMIT 1
        ), address_limit AS (
            SELECT attempted_at FROM login_attempts
            WHERE remote_address = \(address) AND attempted_at > \(since) AND outcome <> 'succeeded'
            ORDER BY attempted_at DESC OFFSET \(perAddress - 1) LIMIT 1
        ), reserved AS (
            INSERT INTO login_attempts (account, remote_address, attempted_at)
            SELECT \(account), \(address), \(now)
            WHERE NOT EXISTS (SELECT 1 FROM account_limit) AND NOT EXISTS (SELECT 1 FROM address_limit)
            RETURNING id
        )
        SELECT (SELECT id FROM reserved) AS reserved_id,
               (SELECT attempted_at FROM account_limit) AS account_limit,
               (SELECT attempted_at FROM address_limit) AS address_limit
        """
    }

    /// `countAndInsert`'s one row: the new attempt's id when it was reserved, otherwise the
    /// attempt that makes each limit (nil for a limit not reached).
    private struct CountedRow {
        let reservedID: Int64?
        let accountLimit: Date?
        let addressLimit: Date?

        init(columns: NamedColumns) throws {
            reservedID = try columns["reserved_id"]
            accountLimit = try columns["account_limit"]
            addressLimit = try columns["address_limit"]
        }
    }

    /// Lock classes ("lgac", "lgad"), so an account and an address with the same hash never share a lock.
    static let accountLockClass: Int32 = 0x6C67_6163
    static let addressLockClass: Int32 = 0x6C67_6164
}
