import ArgumentParser
import Foundation
import Shared

/// `tokens`: API keys for clients that cannot run OAuth and send a fixed
/// `Authorization: Bearer gh_pat_…` header (issue 13). Each key belongs to one user, works at one
/// resource with a set of that resource's scopes, and expires; the ResourceServer checks it like
/// an access token (same scope checks, revocation within a second).
struct TokensCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokens",
        abstract: "Create, list and revoke API keys (gh_pat_…) for header-only clients.",
        discussion: """
            A key is printed once, by `tokens create`, and stored only as a hash. The ResourceServer \
            accepts it as a bearer token at its resource with its scopes, unless GATEHOUSE_API_KEYS=false. \
            Resources and scopes are those of GATEHOUSE_CONFIG (or GATEHOUSE_MCP_RESOURCE). Needs DATABASE_URL.
            """,
        subcommands: [Create.self, List.self, Revoke.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API keys (never their secrets), newest first.")
        @Option(help: "Only this user's keys.") var user: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let user = self.user
            let keys = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await APIKeyStore(database: database).list(username: user)
            }
            let now = Date()
            var table = OutputTable("ID", "NAME", "USER", "RESOURCE", "SCOPE", "CLIENT", "STATE", "CREATED", "EXPIRES",
                                    "LAST_USED")
            for key in keys {
                table.append(key.id.uuidString.lowercased(), key.name, key.username, key.resource, key.scope.description,
                             key.clientLabel, key.state(now: now), OutputTable.format(key.createdAt),
                             OutputTable.format(key.expiresAt), OutputTable.format(key.lastUsedAt))
            }
            table.print(json: output.json)
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an API key.",
            discussion: "Every ResourceServer refuses it within about a second.")
        @Argument(help: "The key's ID, as shown by `tokens list`.") var id: String

        func validate() throws {
            guard UUID(uuidString: id) != nil else { throw ValidationError("\"\(id)\" is not a key ID (see `tokens list`)") }
        }

        func run() async throws {
            let id = UUID(uuidString: self.id)!
            let name = id.uuidString.lowercased()
            let outcome = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                let store = APIKeyStore(database: database)
                let outcome = try await store.revoke(id: id, now: Date())
                if outcome == .revoked {
                    var detail = AdminRuntime.auditDetail
                    detail["api_key"] = name
                    let username = try await store.find(id: id)?.username
                    await AuditLog(database: database, logger: logger).record(.apiKeyRevoked, username: username, detail: detail)
                }
                return outcome
            }
            switch outcome {
            case .revoked: print("revoked API key \(name)")
            case .alreadyRevoked: print("API key \(name) was already revoked")
            case .notFound:
                AdminRuntime.printError("no API key with ID \(name)")
                throw ExitCode.failure
            }
        }
    }
}
