import ArgumentParser
import Foundation
import Logging
import Shared

/// `ResourceServer [serve]` runs the MCP resource server; `ResourceServer migrate` applies the schema and exits.
@main
struct ResourceServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ResourceServer",
        abstract: "Gatehouse MCP resource server (OAuth 2.1 protected, Streamable HTTP at /mcp).",
        subcommands: [Serve.self, Migrate.self],
        defaultSubcommand: Serve.self)
}

/// Reads and validates the configuration, printing one readable line and exiting non-zero if it is wrong.
func loadConfiguration() throws -> ResourceServerConfiguration {
    do {
        return try ResourceServerConfiguration(environment: Environment())
    } catch let error as ConfigurationError {
        FileHandle.standardError.write(Data("\(error.description)\n".utf8))
        throw ExitCode(ConfigurationError.exitCode)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the resource server (default).")

    func run() async throws {
        let configuration = try loadConfiguration()
        Observability.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        var logger = Logger(label: "gatehouse.resource-server")
        logger.logLevel = configuration.logLevel
        logger.info("starting resource server", metadata: [
            "resource": "\(configuration.resource)", "issuer": "\(configuration.issuer)",
            "address": "\(configuration.host):\(configuration.port)",
        ])
        let application = try await buildResourceServer(configuration: configuration, logger: logger)
        // SIGTERM/SIGINT: graceful shutdown of the server, the revocation feed and the database pool.
        try await application.runService()
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply database migrations and exit.")

    func run() async throws {
        let configuration = try loadConfiguration()
        Observability.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        let logger = {
            var logger = Logger(label: "gatehouse.resource-server.migrate")
            logger.logLevel = configuration.logLevel
            return logger
        }()
        let database = try Database(configuration: configuration.database, logger: logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            let applied = try await withDeadline(.seconds(60)) { try await Migrator.migrate(database, logger: logger) }
            logger.info("migrations done", metadata: ["applied": "\(applied)"])
        }
    }
}
