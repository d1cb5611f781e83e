import Foundation
import Logging
import PostgresNIO
import Shared
import TestSupport
@testable import AuthServer

/// What every endpoint test shares, set up once per test process: a database of its own and one
/// person who can sign in.
///
/// The database is separate from the shared `gatehouse` one because signing keys are sealed with
/// a key-encryption key: a key another suite (or the e2e run) created there with its own KEK
/// cannot be opened with ours. Everything else in it is made unique per test (client ids, flow
/// addresses), so tests run in parallel and repeated runs do not interfere.
enum AuthServerFixture {
    /// Named after the database `DATABASE_URL` names, so that test runs against different base
    /// databases (`make test`'s fresh `gatehouse_test`, a developer's own) never share one.
    static var databaseName: String {
        get throws { "\(try TestDatabase.configuration().database.prefix(40))_authserver_tests" }
    }
    /// base64("Gatehouse authserver tests KEK!!"), 32 bytes.
    static let keyEncryptionKey = "R2F0ZWhvdXNlIGF1dGhzZXJ2ZXIgdGVzdHMgS0VLISE="
    static let issuer = "http://localhost:9000"
    static let resource = "http://localhost:8000/mcp"
    /// scrypt makes every user costly: one per process, signed in by every test.
    static let password = "correct horse battery staple"
    /// Cheaper than the production default (N=2^17), so hundreds of sign-ins stay fast; the
    /// production parameters and the upgrade path have tests of their own (UserStoreTests).
    static let passwordHasher = PasswordHasher(parameters: .init(logN: 12, r: 8, p: 1))

    struct Prepared: Sendable {
        let databaseURL: String
        let username: String
    }

    private static let prepared = Task { try await prepare() }

    static func shared() async throws -> Prepared { try await prepared.value }

    static var logger: Logger {
        var logger = Logger(label: "authserver-test")
        logger.logLevel = .critical
        return logger
    }

    /// The configuration the tests run with: port 0, our KEK, `X-Forwarded-For` trusted from
    /// loopback (and from the router test framework, which has no socket) so each test can sign in
    /// from an address of its own (throttling counts per address). Rate limits are off unless a
    /// test turns one on: the suites register far more clients from one address than the default allows.
    static func configuration(databaseURL: String, overrides: [String: String] = [:]) throws -> AuthServerConfiguration {
        var values = [
            "DATABASE_URL": databaseURL,
            "DATABASE_MAX_CONNECTIONS": "4",
            "GATEHOUSE_KEK": keyEncryptionKey,
            "GATEHOUSE_AUTH_PORT": "0",
            "GATEHOUSE_ISSUER": issuer,
            "GATEHOUSE_MCP_RESOURCE": resource,
            "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.0/8,::1/128",
            "GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR": "0",
            "GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "0",
            "GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE": "0",
            "GATEHOUSE_LOG_LEVEL": "critical",
            // Two dozen servers start and work at once on two cores; the production default
            // (5 s) made a call now and then time out while the machine was saturated.
            "DATABASE_TIMEOUT_SECONDS": "30",
        ]
        values.merge(overrides) { $1 }
        var configuration = try AuthServerConfiguration(environment: Environment(values))
        configuration.trustedProxies.trustsPeerWithoutAddress = true
        return configuration
    }

    private static func prepare() async throws -> Prepared {
        let base = try TestDatabase.configuration()
        try await TestDatabase.withDatabase { database in
            let databaseName = try Self.databaseName
            let rows = try await database.query("SELECT 1 FROM pg_database WHERE datname = \(databaseName)")
            guard rows.isEmpty else { return }
            do {
                _ = try await database.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(databaseName)"))
            } catch {
                // Another test process created it first.
                let again = try await database.query("SELECT 1 FROM pg_database WHERE datname = \(databaseName)")
                if again.isEmpty { throw error }
            }
        }
        var config = base
        config.database = try Self.databaseName
        let url = try databaseURL(for: config)
        let username = TestDatabase.uniqueName("reader")
        let database = try Database(configuration: config, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await Migrator.migrate(database, logger: logger)
            _ = try await UserStore(database: database, hasher: passwordHasher).create(username: username, password: password)
        }
        return Prepared(databaseURL: url, username: username)
    }

    private static func databaseURL(for config: DatabaseConfiguration) throws -> String {
        guard let raw = ProcessInfo.processInfo.environment["DATABASE_URL"],
              var parts = URLComponents(string: raw) else { throw TestSetupError("DATABASE_URL is not set") }
        parts.path = "/" + config.database
        guard let url = parts.string else { throw TestSetupError("cannot rewrite DATABASE_URL") }
        return url
    }
}
