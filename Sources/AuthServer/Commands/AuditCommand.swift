import ArgumentParser
import Foundation
import Shared

extension AuditEvent.Kind: ExpressibleByArgument {}

struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit trail of sign-ins, consents, revocations and admin actions.",
        discussion: "Needs DATABASE_URL.",
        subcommands: [List.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit events, newest first.")

        @Option(help: "How many events to show (1-10000).") var limit = 50
        @Option(help: "Only events of this kind: \(AuditEvent.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
        var kind: AuditEvent.Kind?
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be between 1 and 10000") }
        }

        func run() async throws {
            let (limit, kind) = (self.limit, self.kind)
            let events = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                try await AuditLog(database: database, logger: logger).list(limit: limit, kind: kind)
            }
            var table = OutputTable("TIME", "KIND", "OUTCOME", "USERNAME", "CLIENT_ID", "REMOTE_ADDRESS", "DETAIL")
            for event in events {
                let detail = event.detail.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                table.append(OutputTable.format(event.occurredAt), event.kind.rawValue, event.outcome.rawValue,
                             event.username, event.clientID, event.remoteAddress, detail.isEmpty ? nil : detail)
            }
            table.print(json: output.json)
        }
    }
}
