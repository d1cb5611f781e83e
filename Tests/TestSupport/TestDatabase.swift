import Foundation
import Logging
import PostgresNIO
import Shared

/// Real PostgreSQL for tests. `make test` starts a private cluster and exports
/// `DATABASE_URL`; without it every database test fails loudly instead of skipping.
public enum TestDatabase {
    public static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        return logger
    }()

    public static func configuration() throws -> DatabaseConfiguration {
        guard let url = ProcessInfo.processInfo.environment["DATABASE_URL"], !url.isEmpty else {
            throw TestSetupError("DATABASE_URL is not set: run the tests with `make test`, which starts PostgreSQL")
        }
        var configuration = try DatabaseConfiguration(url: url)
        // Many tests hold a pool at once; the production default (20) each would exhaust
        // PostgreSQL's max_connections (see ResourceServerHarness.configuration).
        configuration.maxConnections = 4
        // The suite runs ~100 suites at once on two cores, key generation and migrations among them:
        // the production default (10 s) was hit there by a test that was only waiting its turn
        // (as in AuthServerFixture, which sets DATABASE_TIMEOUT_SECONDS=30). Tests of the timeout
        // itself set their own.
        configuration.queryTimeout = queryTimeout
        return configuration
    }

    /// The per-call deadline of every test pool (see `configuration()`).
    public static let queryTimeout: Duration = .seconds(30)

    /// Runs `body` against the shared, migrated test database with a running client.
    public static func withDatabase<T: Sendable>(
        _ body: @escaping @Sendable (Database) async throws -> T
    ) async throws -> T {
        let database = try Database(configuration: try configuration(), logger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await database.client.run(); return nil }
            defer { group.cancelAll() }
            try await Migrator.migrate(database, logger: logger)
            return try await body(database)
        }
    }

    /// Creates an empty database with a unique name and returns its configuration
    /// (for tests of migrations themselves).
    public static func makeEmptyDatabase() async throws -> DatabaseConfiguration {
        var config = try configuration()
        let name = "gh_test_\(UInt64.random(in: 0...UInt64.max))"
        try await withDatabase { database in
            _ = try await database.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"))
        }
        config.database = name
        return config
    }

    /// Runs `body` against a fresh, empty, migrated database of its own (for tests that count or
    /// sweep rows, which the shared database's other tests would disturb).
    public static func withEmptyDatabase(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        let database = try Database(configuration: try await makeEmptyDatabase(), logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await Migrator.migrate(database, logger: logger)
            try await body(database)
        }
    }

    /// A name no other test uses, for users and clients.
    public static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}

public struct TestSetupError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
