import ArgumentParser
import Foundation
import Shared

struct ClientsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "clients",
        abstract: "Create, inspect, delete and block OAuth clients.",
        discussion: "Clients register themselves (RFC 7591 dynamic registration), use a metadata document URL, or are pre-registered by the operator (`clients create`, or the config file's clients:). Needs DATABASE_URL.",
        subcommands: [List.self, Show.self, Create.self, Update.self, Delete.self, Block.self, Unblock.self, Blocked.self,
                      CreateResourceServer.self, Prune.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the registered clients that are not deleted.",
            discussion: "--by-software groups every dynamic registration by software_id (else client_name) and software_version: registrations, duplicates, distinct source networks, live, first and last.")
        @OptionGroup var output: OutputOptions
        @Flag(name: .customLong("by-software"), help: "Dynamic registrations per software, with duplicates and source networks.")
        var bySoftware = false

        func run() async throws {
            if bySoftware { return try await Self.printBySoftware(json: output.json) }
            let clients = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await ClientStore(database: database).list()
            }
            var table = OutputTable("CLIENT_ID", "NAME", "AUTH_METHOD", "KIND", "CREATED", "REDIRECT_URIS")
            for client in clients {
                table.append(client.clientID, client.name, client.authMethod.rawValue, client.registrationKind,
                             OutputTable.format(client.createdAt), client.redirectURIs.joined(separator: " "))
            }
            table.print(json: output.json)
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a client and revoke every token issued to it.",
            discussion: "Resource servers refuse its access tokens within seconds. The client can register again.")
        @Argument(help: "The client_id, as shown by `clients list`.") var clientID: String

        func run() async throws {
            let clientID = self.clientID
            try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                guard try await ClientStore(database: database).delete(clientID) else {
                    AdminRuntime.printError("no client with client_id \"\(clientID)\"")
                    throw ExitCode.failure
                }
                await AuditLog(database: database, logger: logger)
                    .record(.clientDeleted, clientID: clientID, detail: AdminRuntime.auditDetail)
            }
            print("deleted client \(clientID); its tokens are revoked")
        }
    }
}
