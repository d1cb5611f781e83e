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
        subcommands: [ServeCommand.self, MigrateCommand.self],
        defaultSubcommand: ServeCommand.self)
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
