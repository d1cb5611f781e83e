import ArgumentParser
import Foundation
import Shared

/// `clients prune [--dry-run] [--days N]`: the sweeper's reaping of unused dynamic clients, run
/// now by an operator, or only listed (`--dry-run`) to see what the sweeper would delete.
extension ClientsCommand {
    struct Prune: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete dynamically registered clients unused for N days, and revoke their tokens.",
            discussion: """
                The same reaping the AuthServer's sweeper does every 10 minutes: only clients of kind dynamic \
                that registered more than N days ago, were issued nothing in the last N days and hold no live \
                refresh token or code. Pre-registered, resource-server and metadata-document clients are never \
                pruned. N defaults to GATEHOUSE_CLIENT_REAP_DAYS (30).
                """)
        @Flag(name: .long, help: "List the clients that would be deleted, and delete nothing.") var dryRun = false
        @Option(name: .long, help: "Unused for this many days (at least 1); default GATEHOUSE_CLIENT_REAP_DAYS, else 30.")
        var days: Int?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            if let days, !(1...3650).contains(days) { throw ValidationError("--days must be between 1 and 3650") }
        }

        func run() async throws {
            let days = try self.days ?? AdminRuntime.configuration {
                try GatehouseConfigFile.reading(Shared.Environment()) { environment, _ in
                    try environment.int("GATEHOUSE_CLIENT_REAP_DAYS", default: 30, range: 0...3650)
                }
            }
            guard days > 0 else {
                AdminRuntime.printError("reaping is off (GATEHOUSE_CLIENT_REAP_DAYS=0); pass --days N to prune anyway")
                throw ExitCode.failure
            }
            let configuration = try AdminRuntime.databaseConfiguration()
            if dryRun {
                let candidates = try await AdminRuntime.withDatabase(configuration) { database, _ in
                    try await ClientStore(database: database).reapCandidates(unusedForDays: days)
                }
                var table = OutputTable("CLIENT_ID", "NAME", "CREATED", "LAST_USED")
                for candidate in candidates {
                    table.append(candidate.clientID, candidate.name, OutputTable.format(candidate.createdAt),
                                 OutputTable.format(candidate.lastUsedAt))
                }
                table.print(json: output.json)
                if !output.json {
                    print("\(candidates.count) client(s) unused for \(days) days would be deleted (dry run: nothing deleted)")
                }
                return
            }
            let reaped = try await AdminRuntime.withDatabase(configuration) { database, _ in
                try await ClientStore(database: database).reap(unusedForDays: days, detail: AdminRuntime.auditDetail)
            }
            if output.json {
                var table = OutputTable("CLIENT_ID")
                for clientID in reaped { table.append(clientID) }
                table.print(json: true)
            } else {
                for clientID in reaped { print("deleted client \(clientID)") }
                print("deleted \(reaped.count) client(s) unused for \(days) days; their tokens are revoked")
            }
        }
    }
}
