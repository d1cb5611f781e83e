import ArgumentParser
import Foundation
import Logging
import Shared

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "migrate", abstract: "Apply database migrations and exit.")

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
