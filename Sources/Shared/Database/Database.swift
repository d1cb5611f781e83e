import Foundation
import Atomics
import Dispatch
import Logging
import Metrics
import PostgresNIO
import ServiceLifecycle

/// The shared PostgreSQL database: a `PostgresClient` pool (a `Service`, run by the ServiceGroup)
/// plus a per-call timeout, because postgres-nio retries an unreachable server for about a minute
/// before failing and we would rather answer 503 quickly.
public struct Database: Sendable {
    public let client: PostgresClient
    public let timeout: Duration
    public let logger: Logger
    let usage: PoolUsage

    public init(configuration: DatabaseConfiguration, logger: Logger) throws {
        self.client = PostgresClient(configuration: try configuration.clientConfiguration(), backgroundLogger: logger)
        self.timeout = configuration.queryTimeout
        self.logger = logger
        self.usage = PoolUsage(maximumConnections: configuration.maxConnections)
    }

    /// Runs `body` with one connection inside a transaction, bounded by the timeout.
    public func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        try await usage.measure(timeout) {
            try await unwrappingTransactionError {
                try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            }
        }
    }

    /// A single statement, bounded by the timeout. Rows are collected before returning.
    public func query(_ query: PostgresQuery) async throws -> [PostgresRow] {
        let logger = self.logger
        return try await usage.measure(timeout) {
            let rows = try await client.query(query, logger: logger)
            var collected: [PostgresRow] = []
            for try await row in rows { collected.append(row) }
            return collected
        }
    }

    /// A named prepared statement, bounded by the timeout; rows decoded before returning.
    ///
    /// For the hottest statements only (a refresh grant's, a client lookup's): PostgreSQL parses,
    /// analyses and plans an unnamed statement on every execution, and for the refresh grant that
    /// was half of the database's CPU (docs/benchmarks.md, "Refresh grants"). postgres-nio
    /// prepares each statement once per pooled connection, on first use, so a new connection
    /// after a restart or a failover prepares it again by itself.
    public func execute<Statement: PostgresPreparedStatement>(_ statement: Statement) async throws -> [Statement.Row]
        where Statement.Row: Sendable {
        let logger = self.logger
        return try await usage.measure(timeout) {
            var collected: [Statement.Row] = []
            for try await row in try await client.execute(statement, logger: logger) { collected.append(row) }
            return collected
        }
    }

    /// True when the database answers `SELECT 1` within a second.
    public func isReachable() async -> Bool {
        do {
            return try await withDeadline(.seconds(1)) {
                let rows = try await client.query("SELECT 1", logger: logger)
                for try await _ in rows {}
                return true
            }
        } catch {
            return false
        }
    }
}

/// postgres-nio wraps whatever failed in a transaction in `PostgresTransactionError`; give callers
/// the error that decides the answer, so `StoreFailure` and `ErrorMappingMiddleware` see a plain
/// `PSQLError` (503) or the body's own error (an `OAuthError`, a `MigrationError`):
/// - the body's error first, even when the rollback failed too: an uncommitted transaction is
///   rolled back by PostgreSQL when its connection goes, so the body's verdict stands;
/// - else the failed `BEGIN` (the PostgreSQL-restart chaos scenario answered 500 here: the
///   wrapper reached the middleware's catch-all), else the failed `COMMIT`, whose outcome is
///   unknown, so 503 and a retry (the refresh grace window covers a rotation that did commit).
public func unwrappingTransactionError<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresTransactionError {
        if let decisive = error.closureError ?? error.beginError ?? error.commitError ?? error.rollbackError {
            throw decisive
        }
        throw error
    }
}

/// Pool use as Prometheus sees it: calls in flight against the pool's size, and how long calls
/// take (postgres-nio keeps its own pool metrics private).
struct PoolUsage: Sendable {
    private let inFlight = ManagedAtomic<Int>(0)
    private let inFlightGauge = Gauge(label: "gatehouse_db_calls_in_flight")
    private let duration = Timer(label: "gatehouse_db_call_duration_seconds")
    private let timeouts = Counter(label: "gatehouse_db_call_timeouts_total")

    init(maximumConnections: Int) {
        Gauge(label: "gatehouse_db_pool_max_connections").record(maximumConnections)
    }

    func measure<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        inFlightGauge.record(inFlight.wrappingIncrementThenLoad(ordering: .relaxed))
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            duration.recordNanoseconds(Int64(DispatchTime.now().uptimeNanoseconds - start))
            inFlightGauge.record(inFlight.wrappingDecrementThenLoad(ordering: .relaxed))
        }
        do {
            return try await withDeadline(limit, body)
        } catch let error as DatabaseTimeoutError {
            timeouts.increment()
            throw error
        }
    }
}

public struct DatabaseTimeoutError: Error, CustomStringConvertible {
    public var description: String { "the database did not answer in time" }
}

/// Runs `body`, throwing `DatabaseTimeoutError` if it has not finished after `limit`.
///
/// The caller gets its answer at the deadline even when `body` does not stop when cancelled: a
/// task group would wait for its children, and during a PostgreSQL restart one pool call that
/// never returned kept its request open forever and, with it, the graceful shutdown (the
/// PostgreSQL-restart chaos scenario). So `body` runs in a task of its own that is cancelled, not
/// awaited, once the race is decided. The deadline itself is kept by `DeadlineWatchdog`, which
/// may fire it up to 50 ms late.
public func withDeadline<T: Sendable>(
    _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    let race = DeadlineRace<T>()
    let work = Task {
        do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
    }
    let timer = DeadlineWatchdog.shared.register(after: limit) { race.finish(.failure(DatabaseTimeoutError())) }
    defer { work.cancel(); DeadlineWatchdog.shared.cancel(timer) }
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in race.wait(continuation) }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of the body's result, the deadline or the caller's cancellation; later ones are dropped.
private final class DeadlineRace<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var outcome: Result<T, any Error>?
    private var delivered = false

    func wait(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let outcome {
            delivered = true
            lock.unlock()
            continuation.resume(with: outcome)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func finish(_ result: Result<T, any Error>) {
        lock.lock()
        guard outcome == nil, !delivered else { lock.unlock(); return }
        outcome = result
        guard let continuation else { lock.unlock(); return }
        self.continuation = nil
        delivered = true
        lock.unlock()
        continuation.resume(with: result)
    }
}

extension PostgresRow {
    /// Decodes a row of a single column (`row.decode(Int.self)`). A row of several columns is read
    /// by name instead (`row.columns`, see `NamedColumns`).
    public func decode<each C: PostgresDecodable>(_ types: (repeat each C).Type) throws -> (repeat each C) {
        try self.decode(types, context: .default)
    }
}
