import ArgumentParser

/// `AuthServer [serve]` runs the server; the other subcommands are the operator's tools, run
/// against the same DATABASE_URL (e.g. `kubectl exec … -- AuthServer users create alice`).
@main
struct AuthServerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AuthServer",
        abstract: "Gatehouse OAuth 2.1 authorization server and its admin tools.",
        discussion: """
            Without a subcommand, runs `serve`. Every command reads its settings from the \
            environment (DATABASE_URL at least) and prints `error: …` and exits non-zero when \
            one is missing or wrong.
            """,
        subcommands: [ServeCommand.self, MigrateCommand.self, UsersCommand.self, ClientsCommand.self,
                      KeysCommand.self, AuditCommand.self, TokensCommand.self],
        defaultSubcommand: ServeCommand.self)

    /// Parses the command line with a dash-leading kid kept as a value (see `KeyIDArgument`).
    static func main() async {
        await main(KeyIDArgument.protectingDashLeadingKeyIDs(Array(CommandLine.arguments.dropFirst())))
    }
}
