import ArgumentParser
import Foundation
import Shared

/// The operator's view of what a person has granted (issue 13 item 4): the same grants the
/// account page will show, and the same revocation.
extension UsersCommand {
    struct Grants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the apps that can act for a user: client, resource, scopes, first and last use.")
        @Argument(help: "The user's name.") var username: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let username = self.username
            let grants = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await UserGrantStore(database: database).grants(ofUsername: username)
            }
            guard let grants else { throw UsersCommand.noSuchUser(username) }
            var table = OutputTable("CLIENT_ID", "NAME", "RESOURCE", "SCOPE", "FAMILIES", "FIRST_USE", "LAST_USE")
            for grant in grants {
                table.append(grant.clientID, grant.clientName, grant.resource, grant.scope, String(grant.families),
                             OutputTable.format(grant.firstUse), OutputTable.format(grant.lastUse))
            }
            table.print(json: output.json)
        }
    }

    struct RevokeGrants: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-grants",
            abstract: "Revoke a user's grants: every app's, or one client's with --client.",
            discussion: """
                Every live token family of the user (for the client) is revoked: resource servers refuse \
                its access tokens within a second and its refresh tokens get invalid_grant; codes not yet \
                exchanged are deleted and the remembered consent is forgotten (the app must ask again). \
                The user's sign-in sessions and API keys are left alone.
                """)
        @Argument(help: "The user's name.") var username: String
        @Option(help: "Only this client's grants (its client_id, as `users grants` shows it).") var client: String?

        func run() async throws {
            let (username, client) = (self.username, self.client)
            let revoked = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                guard let count = try await UserGrantStore(database: database).revokeGrants(ofUsername: username, client: client)
                else { return nil as Int? }
                var detail = AdminRuntime.auditDetail
                detail["families"] = String(count)
                await AuditLog(database: database, logger: logger)
                    .record(.tokenFamilyRevoked, username: username.lowercased(), clientID: client, detail: detail)
                return count
            }
            guard let revoked else { throw UsersCommand.noSuchUser(username) }
            let scope = client.map { " for client \($0)" } ?? ""
            print("revoked \(revoked) grant\(revoked == 1 ? "" : "s") of user \(username.lowercased())\(scope)")
        }
    }
}
