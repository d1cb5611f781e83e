import ArgumentParser
import Foundation
import Hummingbird
import Logging
import Shared

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the authorization server (the default).",
        discussion: "Configuration comes from environment variables; see docs/configuration.md.")

    func run() async throws {
        let configuration: AuthServerConfiguration
        do { configuration = try AuthServerConfiguration(environment: Shared.Environment()) } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ConfigurationError.exitCode)
        }
        Observability.bootstrap(format: configuration.logFormat, level: configuration.logLevel)
        var logger = Logger(label: "gatehouse.auth")
        logger.logLevel = configuration.logLevel
        for warning in configuration.insecureSettings {
            logger.warning("INSECURE SETTING: \(warning)")
        }
        // The config file's clients: are checked here (their secrets read), and applied before the
        // server listens; a bad entry, or a client_id held by another kind of client, stops the
        // start like any other configuration error.
        let server: BuiltAuthServer
        do { server = try buildAuthServer(configuration: configuration, logger: logger) } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ConfigurationError.exitCode)
        }
        logger.info("authorization server starting", metadata: [
            "issuer": "\(configuration.issuer)", "resource": "\(configuration.resource)",
            "address": "\(configuration.host):\(configuration.port)",
        ])
        // SIGTERM and SIGINT end the ServiceGroup gracefully: in-flight requests finish first.
        do { try await server.application.runService() } catch let error as ConfigurationError {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode(ConfigurationError.exitCode)
        }
    }
}
