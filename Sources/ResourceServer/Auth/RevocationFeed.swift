import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import Shared

/// Keeps `RevocationLedger` in step with `revoked_access_tokens` by polling every 250 ms, so a
/// revoked token is refused within about a second on every replica without a database round trip
/// per request.
///
/// RFC 7009 §2.2: after revocation the token must not be usable; when the feed cannot vouch for
/// being current (no successful poll for more than `staleAfter`), `isRevoked` asks the database
/// directly, and if that fails too it throws, which the endpoint turns into a 503. A revoked token
/// is never let through because the feed was behind.
final class RevocationFeed: Service, Sendable {
    private struct State {
        var ledger = RevocationLedger()
        var lastSuccess: ContinuousClock.Instant?
        var consecutiveFailures = 0
    }

    private let database: Database
    private let logger: Logger
    private let now: @Sendable () -> Date
    private let leeway: Int
    private let interval: Duration
    let staleAfter: Duration
    private let state = NIOLockedValueBox(State())
    private let directLookups = Counter(label: "gatehouse_rs_revocation_direct_lookups_total")
    private let pollFailures = Counter(label: "gatehouse_rs_revocation_poll_failures_total")
    private let revokedGauge = Gauge(label: "gatehouse_rs_revoked_tokens_tracked")

    static let batchSize = 5_000

    init(database: Database, logger: Logger, now: @escaping @Sendable () -> Date, leeway: Int,
         interval: Duration = .milliseconds(250), staleAfter: Duration = .seconds(1)) {
        self.database = database
        self.logger = logger
        self.now = now
        self.leeway = leeway
        self.interval = interval
        self.staleAfter = staleAfter
    }

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                await self.poll()
                do { try await Task.sleep(for: self.interval) } catch { return }
            }
        }
    }

    /// True when the last successful poll is recent enough to trust the in-memory set alone.
    var isFresh: Bool {
        state.withLockedValue { state in
            state.lastSuccess.map { ContinuousClock.now - $0 <= staleAfter } ?? false
        }
    }

    /// Whether `jti` was revoked. Throws only when the answer cannot be known (feed stale and
    /// database unreachable).
    func isRevoked(_ jti: String) async throws -> Bool {
        let (known, fresh) = state.withLockedValue { state in
            (state.ledger.contains(jti), state.lastSuccess.map { ContinuousClock.now - $0 <= staleAfter } ?? false)
        }
        if known { return true }
        if fresh { return false }
        directLookups.increment()
        let rows = try await withDeadline(.seconds(2)) { [database] in
            try await database.query("SELECT 1 FROM revoked_access_tokens WHERE jti = \(jti)")
        }
        return !rows.isEmpty
    }

    /// One round: new rows above the highest seq seen (in batches, so the first load can be large),
    /// then the holes that may still fill in. Returns whether it succeeded.
    @discardableResult
    func poll() async -> Bool {
        do {
            while true {
                let after = state.withLockedValue { $0.ledger.highestSeq }
                let rows = try await fetchRows(
                    "SELECT seq, jti, expires_at FROM revoked_access_tokens WHERE seq > \(after) ORDER BY seq LIMIT \(Self.batchSize)")
                state.withLockedValue { $0.ledger.record(rows, at: .now) }
                if rows.count < Self.batchSize { break }
            }
            let holes = state.withLockedValue { $0.ledger.pendingHoles }
            if !holes.isEmpty {
                let rows = try await fetchRows(
                    "SELECT seq, jti, expires_at FROM revoked_access_tokens WHERE seq = ANY(\(holes))")
                state.withLockedValue { $0.ledger.record(rows, at: .now) }
            }
            let seconds = Int(now().timeIntervalSince1970)
            let tracked = state.withLockedValue { state in
                state.ledger.closeOldHoles(at: .now)
                state.ledger.prune(now: seconds, leeway: leeway)
                state.lastSuccess = .now
                if state.consecutiveFailures > 0 {
                    logger.notice("revocation feed recovered", metadata: ["failed_polls": "\(state.consecutiveFailures)"])
                }
                state.consecutiveFailures = 0
                return state.ledger.count
            }
            revokedGauge.record(tracked)
            return true
        } catch {
            pollFailures.increment()
            let failures = state.withLockedValue { state in
                state.consecutiveFailures += 1
                return state.consecutiveFailures
            }
            // Every poll fails while the database is down; log the first and then every 40th (~10 s).
            if failures % 40 == 1 {
                logger.warning("revocation feed poll failed; falling back to direct lookups",
                               metadata: ["error": "\(String(reflecting: error))", "failed_polls": "\(failures)"])
            }
            return false
        }
    }

    private func fetchRows(_ query: PostgresQuery) async throws -> [RevocationLedger.Row] {
        try await database.query(query).map { row in
            let (seq, jti, expiresAt) = try row.decode((Int64, String, Date).self)
            return RevocationLedger.Row(seq: seq, jti: jti, expiresAt: Int(expiresAt.timeIntervalSince1970))
        }
    }
}
