import ArgumentParser
import Foundation
import Shared

/// `clients block`, `clients unblock`, `clients blocked`: the operator's block list. Deleting a
/// metadata-document client only makes the next request fetch it again; blocking refuses it,
/// on every replica, before anything is fetched.
extension ClientsCommand {
    static let blockArgumentHelp = ArgumentHelp(
        "A client_id (a registered id or a metadata document URL), or a host as https://host or host.name.")

    struct Block: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Refuse a client, or every metadata-document client of a host, and revoke its tokens.",
            discussion: "Blocked clients get Gatehouse's error page at /authorize and 401 invalid_client at /token, without any fetch. Holds across replicas and restarts, and after `clients delete`.")
        @Argument(help: ClientsCommand.blockArgumentHelp) var target: String

        func run() async throws {
            let entry = ClientStore.BlockEntry(parsing: target)
            let added = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                let added = try await ClientStore(database: database).block(entry)
                var detail = AdminRuntime.auditDetail
                detail["kind"] = entry.kind
                await AuditLog(database: database, logger: logger)
                    .record(.clientBlocked, clientID: entry.value, detail: detail)
                return added
            }
            print(added ? "blocked \(entry.kind) \(entry.value); its tokens are revoked"
                        : "\(entry.kind) \(entry.value) was already blocked")
        }
    }

    struct Unblock: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove a client_id or host from the block list.")
        @Argument(help: ClientsCommand.blockArgumentHelp) var target: String

        func run() async throws {
            let entry = ClientStore.BlockEntry(parsing: target)
            try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                guard try await ClientStore(database: database).unblock(entry) else {
                    AdminRuntime.printError("\(entry.kind) \"\(entry.value)\" is not blocked")
                    throw ExitCode.failure
                }
                await AuditLog(database: database, logger: logger)
                    .record(.clientUnblocked, clientID: entry.value, detail: AdminRuntime.auditDetail)
            }
            print("unblocked \(entry.kind) \(entry.value)")
        }
    }

    struct Blocked: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the blocked client_ids and hosts.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let rows = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await ClientStore(database: database).blocked()
            }
            var table = OutputTable("ENTRY", "KIND", "BLOCKED")
            for row in rows { table.append(row.entry, row.kind, OutputTable.format(row.createdAt)) }
            table.print(json: output.json)
        }
    }
}
