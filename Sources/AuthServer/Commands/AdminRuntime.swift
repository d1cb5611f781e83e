import ArgumentParser
import Foundation
import Logging
import PostgresNIO
import Shared

/// What every admin subcommand shares: reading only the configuration it needs, a database
/// that is up for exactly the duration of the command, and errors an operator can act on.
enum AdminRuntime {
    /// Logs go to standard error so standard output stays a clean table (or JSON) for scripts.
    static func logger() -> Logger {
        let level = ProcessInfo.processInfo.environment["GATEHOUSE_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:))
        Observability.bootstrap(format: .text, level: level ?? .error)
        return Logger(label: "gatehouse.admin")
    }

    /// Reads `DATABASE_URL` (and the timeout settings) only, so e.g. `users list` works on a
    /// machine that holds no key-encryption key.
    static func databaseConfiguration() throws -> DatabaseConfiguration {
        // `database_url` may come from the GATEHOUSE_CONFIG file, as for `serve`.
        try configuration {
            try GatehouseConfigFile.reading(Shared.Environment()) { environment, _ in try DatabaseConfiguration(environment: environment) }
        }
    }

    /// Runs `read`, turning a `ConfigurationError` into `error: <message>` and exit code
    /// `ConfigurationError.exitCode` (EX_CONFIG: the environment is wrong, not the database or the request).
    static func configuration<T>(_ read: () throws -> T) throws -> T {
        do {
            return try read()
        } catch let error as ConfigurationError {
            printError(error.description)
            throw ExitCode(ConfigurationError.exitCode)
        }
    }

    /// Starts the pool, migrates, runs `body`, then shuts the pool down. Every step is bounded by
    /// the database timeout: postgres-nio would otherwise keep retrying an unreachable server
    /// for about a minute, and an operator deserves an answer in seconds.
    static func withDatabase<T: Sendable>(
        _ configuration: DatabaseConfiguration,
        _ body: @escaping @Sendable (Database, Logger) async throws -> T
    ) async throws -> T {
        let logger = logger()
        let database = try Database(configuration: configuration, logger: logger)
        do {
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { await database.client.run(); return nil }
                defer { group.cancelAll() }
                try await withDeadline(database.timeout) { try await probe(configuration, logger: logger) }
                _ = try await withDeadline(database.timeout) { try await Migrator.migrate(database, logger: logger) }
                return try await body(database, logger)
            }
        } catch let error as ExitCode {
            throw error
        } catch {
            printError(describe(error, configuration: configuration))
            throw ExitCode.failure
        }
    }

    /// The pool retries a failing connection until our deadline and then reports only the
    /// timeout; one direct connection first surfaces the real reason (refused, no such
    /// database, authentication failed) in the operator's terminal.
    static func probe(_ configuration: DatabaseConfiguration, logger: Logger) async throws {
        let tls = try configuration.connectionTLS()
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: configuration.host, port: configuration.port, username: configuration.username,
                                 password: configuration.password, database: configuration.database, tls: tls),
            id: 0, logger: logger)
        try await connection.close()
    }

    /// PostgresNIO hides server messages from `description` (they may hold data); an operator at
    /// their own terminal needs them, and needs to know which setting to check.
    static func describe(_ error: any Error, configuration: DatabaseConfiguration) -> String {
        let target = "\(configuration.host):\(configuration.port)/\(configuration.database)"
        switch error {
        case is DatabaseTimeoutError:
            return "the database at \(target) did not answer within \(configuration.queryTimeout) "
                + "(check \(DatabaseConfiguration.variable), and that PostgreSQL is running and reachable)"
        case let error as PSQLError:
            if let message = error.serverInfo?[.message] {
                let state = error.serverInfo?[.sqlState].map { " (SQLSTATE \($0))" } ?? ""
                return "database error at \(target) (\(DatabaseConfiguration.variable)): \(message)\(state)"
            }
            let cause = error.underlying.map { ": \($0)" } ?? ""
            return "cannot use the database at \(target) (\(DatabaseConfiguration.variable)): \(error.code)\(cause)"
        case let error as MigrationError:
            return error.description
        default:
            return String(describing: error)
        }
    }

    static func printError(_ message: String) {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
    }

    /// Who ran the command, for the audit trail (the CLI has no remote address).
    static var auditDetail: [String: String] {
        var detail = ["source": "admin-cli"]
        if let user = ProcessInfo.processInfo.environment["USER"], !user.isEmpty { detail["os_user"] = user }
        return detail
    }
}
