import ArgumentParser
import Foundation
import Logging
import Shared

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the resource server (default).")

    func run() async throws {
        let configuration = try loadConfiguration()
        Observability.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        var logger = Logger(label: "gatehouse.resource-server")
        logger.logLevel = configuration.logLevel
        logger.info("starting resource server", metadata: [
            "resource": "\(configuration.resource)", "issuer": "\(configuration.issuer)",
            "address": "\(configuration.host):\(configuration.port)",
            "resources": "\(configuration.resources.resources.map(\.identifier.value).joined(separator: " "))",
        ])
        let application = try await buildResourceServer(configuration: configuration, logger: logger)
        // SIGTERM/SIGINT: graceful shutdown of the server, the revocation feed and the database pool.
        try await application.runService()
    }
}
