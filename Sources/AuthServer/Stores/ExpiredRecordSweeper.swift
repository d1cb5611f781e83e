import Foundation
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle
import Shared

/// Deletes rows that can no longer matter, so the tables do not grow without bound. Runs in
/// every AuthServer replica; the deletes are idempotent, so replicas need not coordinate.
///
/// Margins are deliberate: revocation rows outlive their token's `exp` by an hour because
/// resource servers accept `exp` with a leeway and a restarting one must still see them;
/// rotated refresh tokens live until their own expiry so that a reuse is detected until then.
struct ExpiredRecordSweeper: Service {
    let database: Database
    let logger: Logger
    let interval: Duration
    let auditRetentionDays: Int
    /// `GATEHOUSE_CLIENT_REAP_DAYS`: dynamic clients unused this long are reaped; 0 never reaps.
    var clientReapDays: Int = 30

    static let statements: [(table: String, sql: String)] = [
        ("authorization_requests", "DELETE FROM authorization_requests WHERE expires_at < now() - interval '1 hour'"),
        ("authorization_codes", "DELETE FROM authorization_codes WHERE expires_at < now() - interval '1 day'"),
        ("login_sessions", "DELETE FROM login_sessions WHERE expires_at < now()"),
        ("refresh_tokens", "DELETE FROM refresh_tokens WHERE expires_at < now() - interval '1 day'"),
        ("access_tokens", "DELETE FROM access_tokens WHERE expires_at < now() - interval '1 hour'"),
        ("revoked_access_tokens", "DELETE FROM revoked_access_tokens WHERE expires_at < now() - interval '1 hour'"),
        ("client_assertion_jtis", "DELETE FROM client_assertion_jtis WHERE expires_at < now() - interval '5 minutes'"),
        ("outbound_fetch_budgets", "DELETE FROM outbound_fetch_budgets WHERE window_started_at < now() - interval '1 hour'"),
        ("login_attempts", "DELETE FROM login_attempts WHERE attempted_at < now() - interval '1 day'"),
        ("federated_logins", "DELETE FROM federated_logins WHERE expires_at < now()"),
        // The longest window is an hour (registrations); a counter older than two has ended.
        ("rate_limit_counters", "DELETE FROM rate_limit_counters WHERE window_start < now() - interval '2 hours'"),
    ]

    func run() async throws {
        await cancelWhenGracefulShutdown {
            // The gauge should not wait for the first sweep.
            do { Self.recordClientCounts(try await ClientStore(database: database).countsByKind()) } catch {
                logger.debug("counting clients failed", metadata: ["error": "\(String(reflecting: error))"])
            }
            while !Task.isCancelled {
                // Spread replicas apart so they do not all sweep at the same moment.
                do { try await Task.sleep(for: interval + .seconds(Int.random(in: 0...60))) } catch { return }
                await sweep()
            }
        }
    }

    /// One pass; returns rows deleted per table. Failures are logged and retried next pass.
    @discardableResult
    func sweep() async -> [String: Int] {
        var deleted: [String: Int] = [:]
        do {
            for (table, sql) in Self.statements {
                deleted[table] = try await count(PostgresQuery(unsafeSQL: "WITH gone AS (\(sql) RETURNING 1) SELECT count(*) FROM gone"))
            }
            deleted["audit_events"] = try await count("""
                WITH gone AS (DELETE FROM audit_events
                              WHERE occurred_at < now() - make_interval(days => \(Int32(auditRetentionDays))) RETURNING 1)
                SELECT count(*) FROM gone
                """)
            if clientReapDays > 0 {
                deleted["clients"] = try await ClientStore(database: database)
                    .reap(unusedForDays: clientReapDays, detail: ["by": "sweeper"]).count
            }
            Self.recordClientCounts(try await ClientStore(database: database).countsByKind())
            if deleted.values.contains(where: { $0 > 0 }) {
                logger.info("swept expired records", metadata: ["deleted": "\(deleted.filter { $0.value > 0 })"])
            }
        } catch {
            logger.warning("sweeping expired records failed", metadata: ["error": "\(String(reflecting: error))"])
        }
        return deleted
    }

    /// `gatehouse_clients{kind="…"}`: live clients by `registration_kind`, so an operator sees
    /// public registration grow (and reaping work) without querying the database.
    static func recordClientCounts(_ counts: [String: Int]) {
        for (kind, count) in counts {
            Gauge(label: "gatehouse_clients", dimensions: [("kind", kind)]).record(count)
        }
    }

    private func count(_ query: PostgresQuery) async throws -> Int {
        try await database.query(query).first?.decode(Int.self) ?? 0
    }
}
