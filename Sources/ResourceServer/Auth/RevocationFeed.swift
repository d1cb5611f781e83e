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
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.listenForAnnouncements() }
                group.addTask {
                    while !Task.isCancelled {
                        await self.poll()
                        do { try await Task.sleep(for: self.interval) } catch { return }
                    }
                }
            }
        }
    }

    /// The AuthServer sends `NOTIFY gatehouse_revocations, 'jti:exp jti:exp …'` in the revoking
    /// transaction, so the jtis usually arrive here before the client has read the revocation
    /// response. The poll stays the guarantee; this only makes refusal immediate in practice.
    private func listenForAnnouncements() async {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: Self.channel) { notifications in
                        for try await notification in notifications {
                            let announced = Self.parseAnnouncement(notification.payload)
                            self.state.withLockedValue { state in
                                for (jti, exp) in announced { state.ledger.recordAnnounced(jti: jti, expiresAt: exp) }
                            }
                        }
                    }
                }
            } catch {
                if Task.isCancelled { return }
                logger.notice("revocation LISTEN connection lost; polling continues", metadata: ["error": "\(error)"])
            }
            do { try await Task.sleep(for: .seconds(1)) } catch { return }
        }
    }

    static let channel = "gatehouse_revocations"

    static func parseAnnouncement(_ payload: String) -> [(String, Int)] {
        payload.split(separator: " ").compactMap { pair in
            let parts = pair.split(separator: ":")
            guard parts.count == 2, let exp = Int(parts[1]), !parts[0].isEmpty else { return nil }
            return (String(parts[0]), exp)
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
