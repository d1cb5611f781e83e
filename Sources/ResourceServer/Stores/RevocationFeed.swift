import Foundation
import Logging
import Metrics
import NIOConcurrencyHelpers
import PostgresNIO
import ServiceLifecycle
import Shared

/// Keeps `RevocationLedger` in step with `revoked_access_tokens` and `revoked_signing_keys` by
/// polling every 250 ms, so a revoked token, or every token of a revoked signing key, is refused
/// within about a second on every replica without a database round trip per request.
///
/// RFC 7009 §2.2: after revocation the token must not be usable; when the feed cannot vouch for
/// being current (no successful poll for more than `staleAfter`), `status` asks the database
/// directly, and if that fails too it throws, which the endpoint turns into a 503. A revoked token
/// is never let through because the feed was behind.
final class RevocationFeed: Service, Sendable {
    /// What the feed knows about one validated token.
    enum Status: Sendable, Equatable { case valid, tokenRevoked, keyRevoked }

    private struct State {
        var ledger: RevocationLedger
        var lastSuccess: ContinuousClock.Instant?
        var consecutiveFailures = 0
    }

    private let database: Database
    private let logger: Logger
    private let clock: Clock
    private let leeway: Int
    private let interval: Duration
    let staleAfter: Duration
    private let state: NIOLockedValueBox<State>
    private let directLookups = Counter(label: "gatehouse_rs_revocation_direct_lookups_total")
    private let pollFailures = Counter(label: "gatehouse_rs_revocation_poll_failures_total")
    private let revokedGauge = Gauge(label: "gatehouse_rs_revoked_tokens_tracked")
    private let gapGauge = Gauge(label: "gatehouse_rs_revocation_gaps_pending")

    static let batchSize = 5_000

    /// `accessTokenLifetime` is the longest lifetime the validator accepts: it decides how long a
    /// gap in the sequence is waited for (see `RevocationLedger`).
    init(database: Database, logger: Logger, clock: Clock, leeway: Int, accessTokenLifetime: Int,
         interval: Duration = .milliseconds(250), staleAfter: Duration = .seconds(1)) {
        self.database = database
        self.logger = logger
        self.clock = clock
        self.leeway = leeway
        self.interval = interval
        self.staleAfter = staleAfter
        // The lifetime, the leeway on both sides (clock skew at issue and at expiry), and a minute
        // for the revoking transaction itself.
        state = NIOLockedValueBox(State(ledger: RevocationLedger(gapLifetime: accessTokenLifetime + 2 * leeway + 60)))
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

    /// The AuthServer sends `RevocationNotice`s (`NOTIFY gatehouse_revocations, 'jti:exp jti:exp …'`,
    /// and `key=kid` for a retired signing key) in the revoking transaction, so the revocation
    /// usually arrives here before the client has read the response. The poll stays the guarantee; this only makes
    /// refusal immediate in practice.
    private func listenForAnnouncements() async {
        while !Task.isCancelled {
            do {
                try await database.client.withConnection { connection in
                    try await connection.listen(on: RevocationNotice.channel) { notifications in
                        for try await notification in notifications {
                            let announced = RevocationNotice.decode(notification.payload)
                            self.state.withLockedValue { state in
                                for notice in announced {
                                    switch notice {
                                    case .accessToken(let jti, let exp): state.ledger.recordAnnounced(jti: jti, expiresAt: exp)
                                    case .signingKey(let kid): state.ledger.recordRevokedKeys([kid])
                                    }
                                }
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

    /// True when the last successful poll is recent enough to trust the in-memory set alone.
    var isFresh: Bool {
        state.withLockedValue { state in
            state.lastSuccess.map { ContinuousClock.now - $0 <= staleAfter } ?? false
        }
    }

    /// Whether `jti` was revoked. Throws only when the answer cannot be known.
    func isRevoked(_ jti: String) async throws -> Bool {
        try await status(jti: jti, keyID: nil) != .valid
    }

    /// Whether the token `jti`, or the signing key `keyID` it was signed with, was revoked. Throws
    /// only when the answer cannot be known (feed stale and database unreachable).
    func status(jti: String, keyID: String?) async throws -> Status {
        let (known, fresh) = state.withLockedValue { state -> (Status, Bool) in
            let known: Status
            if let keyID, state.ledger.isKeyRevoked(keyID) {
                known = .keyRevoked
            } else {
                known = state.ledger.contains(jti) ? .tokenRevoked : .valid
            }
            return (known, state.lastSuccess.map { ContinuousClock.now - $0 <= staleAfter } ?? false)
        }
        if known != .valid || fresh { return known }
        directLookups.increment()
        let kid = keyID ?? ""
        let rows = try await withDeadline(.seconds(2)) { [database] in
            try await database.query("""
                SELECT EXISTS (SELECT 1 FROM revoked_signing_keys WHERE kid = \(kid)) AS key_revoked,
                       EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = \(jti)) AS token_revoked
                """)
        }
        guard let columns = rows.first?.columns else { return .valid }
        let (keyRevoked, tokenRevoked): (Bool, Bool) = (try columns["key_revoked"], try columns["token_revoked"])
        return keyRevoked ? .keyRevoked : tokenRevoked ? .tokenRevoked : .valid
    }

    /// One round: the revoked signing keys (a handful of rows, read whole), new revocations above the
    /// highest seq seen (in batches, so the first load can be large), then the gaps that may still
    /// fill in. Returns whether it succeeded.
    @discardableResult
    func poll() async -> Bool {
        do {
            let kids = try await database.query("SELECT kid FROM revoked_signing_keys").map { try $0.decode(String.self) }
            state.withLockedValue { $0.ledger.recordRevokedKeys(kids) }
            while true {
                let after = state.withLockedValue { $0.ledger.highestSeq }
                let rows = try await fetchRows(
                    "SELECT seq, jti, expires_at FROM revoked_access_tokens WHERE seq > \(after) ORDER BY seq LIMIT \(Self.batchSize)")
                let seconds = clock.seconds
                state.withLockedValue { $0.ledger.record(rows, now: seconds) }
                if rows.count < Self.batchSize { break }
            }
            let gaps = state.withLockedValue { $0.ledger.gaps }
            if !gaps.isEmpty {
                let rows = try await fetchRows("""
                    SELECT r.seq, r.jti, r.expires_at
                    FROM unnest(\(gaps.map(\.lower)), \(gaps.map(\.upper))) AS gap(lower, upper)
                    JOIN revoked_access_tokens r ON r.seq BETWEEN gap.lower AND gap.upper
                    """)
                let seconds = clock.seconds
                state.withLockedValue { $0.ledger.record(rows, now: seconds) }
            }
            let seconds = clock.seconds
            let (tracked, pending) = state.withLockedValue { state in
                state.ledger.closeExpiredGaps(now: seconds)
                state.ledger.prune(now: seconds, leeway: leeway)
                state.lastSuccess = .now
                if state.consecutiveFailures > 0 {
                    logger.notice("revocation feed recovered", metadata: ["failed_polls": "\(state.consecutiveFailures)"])
                }
                state.consecutiveFailures = 0
                return (state.ledger.count, state.ledger.gaps.count)
            }
            revokedGauge.record(tracked)
            gapGauge.record(pending)
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
            let columns = row.columns
            let expiresAt: Date = try columns["expires_at"]
            return RevocationLedger.Row(seq: try columns["seq"], jti: try columns["jti"], expiresAt: Int(expiresAt.timeIntervalSince1970))
        }
    }
}
