import ArgumentParser
import Foundation
import Shared

/// `clients create`, `clients show`, `clients update`: pre-registered clients (issue 13 item 1),
/// for clients configured with a client ID by hand (Cursor's and Claude Desktop's
/// `oauthClientId`, Claude's "Advanced settings", VS Code's manual client prompt). The config
/// file's `clients:` does the same at every AuthServer start.
extension ClientsCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a pre-registered client (public, or with a secret printed once).",
            discussion: """
                Redirect URIs pass the same policy as dynamic registration: https, http on a loopback host \
                (any port matches), or a private-use scheme such as cursor://anysphere.cursor-mcp/oauth/callback; \
                matched exactly. With --secret a 256-bit secret is generated and printed once (only its hash is \
                stored); the client may send it with client_secret_basic or client_secret_post. --trusted skips \
                the consent page: for first-party clients only. Needs DATABASE_URL.
                """)
        @Option(name: .long, help: "The name the consent page shows.") var name: String
        @Option(name: .customLong("redirect-uri"), parsing: .upToNextOption, help: "One or more redirect URIs.")
        var redirectURIs: [String] = []
        @Flag(name: .customLong("public"), help: "A public client: no secret, PKCE only (the default).") var isPublic = false
        @Flag(name: .customLong("secret"), help: "A confidential client: generate a secret and print it once.") var withSecret = false
        @Flag(name: .long, help: "Skip the consent page (first-party clients only).") var trusted = false
        @Option(name: .customLong("id"), help: "The client_id (default: a random one).") var id: String?

        func validate() throws {
            try ClientsCommand.validateName(name)
            if isPublic && withSecret { throw ValidationError("use one of --public and --secret") }
            if let id, !Client.isValidPreregisteredID(id) {
                throw ValidationError("--id \(PreregisteredClientConfiguration.idRule)")
            }
            try ClientsCommand.validateRedirectURIs(redirectURIs)
        }

        func run() async throws {
            let secret = withSecret ? SecureRandom.token() : nil
            let client = Client.preregistered(id: id ?? Client.generatedPreregisteredID(), name: name,
                                              redirectURIs: redirectURIs, secret: secret, trusted: trusted, now: Date())
            try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                let outcome = try await ClientStore(database: database).insertPreregistered(client)
                if case .taken(let kind, let deleted) = outcome {
                    AdminRuntime.printError("client_id \"\(client.clientID)\" is already taken by a \(deleted ? "deleted " : "")client of kind \(kind); choose another --id")
                    throw ExitCode.failure
                }
                var detail = AdminRuntime.auditDetail
                detail["kind"] = Client.preregisteredKind
                detail["redirect_uris"] = String(client.redirectURIs.joined(separator: " ").prefix(500))
                if client.trusted { detail["trusted"] = "true" }
                await AuditLog(database: database, logger: logger).record(.clientRegistered, clientID: client.clientID, detail: detail)
            }
            print("created \(secret == nil ? "public" : "confidential") pre-registered client \(client.clientID)")
            print("client_id: \(client.clientID)")
            if let secret {
                print("client_secret: \(secret)")
                print("The secret is shown only now; store it in the client (client_secret_basic or client_secret_post).")
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show one client (of any kind); never its secret.")
        @Argument(help: "The client_id, as shown by `clients list`.") var clientID: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let clientID = self.clientID
            let stored = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await ClientStore(database: database).stored(clientID)
            }
            guard let stored else {
                AdminRuntime.printError("no client with client_id \"\(clientID)\"")
                throw ExitCode.failure
            }
            let client = stored.client
            let fields: [(String, String?)] = [
                ("client_id", client.clientID), ("name", client.name), ("kind", client.registrationKind),
                ("auth_method", client.authMethod.rawValue), ("has_secret", client.secretHash == nil ? "no" : "yes"),
                ("trusted", client.trusted ? "yes" : "no"), ("application_type", client.applicationType),
                ("redirect_uris", client.redirectURIs.joined(separator: " ")),
                ("grant_types", client.grantTypes.joined(separator: " ")),
                ("created", OutputTable.format(client.createdAt)), ("deleted", stored.deleted ? "yes" : "no"),
            ]
            if output.json {
                let object = Dictionary(uniqueKeysWithValues: fields.map { key, value -> (String, Any) in (key, value ?? NSNull()) })
                let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
                print(String(decoding: data, as: UTF8.self))
            } else {
                let width = fields.map(\.0.count).max() ?? 0
                for (key, value) in fields {
                    print("\(key.padding(toLength: width, withPad: " ", startingAt: 0))  \(value ?? "-")")
                }
            }
        }
    }

    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Change a pre-registered client's name, redirect URIs or trust.",
            discussion: """
                --redirect-uri replaces the whole list. A client declared in the config file's clients: is set \
                back to the file's entry at the next AuthServer start; change the file instead. Needs DATABASE_URL.
                """)
        @Argument(help: "The client_id, as shown by `clients list`.") var clientID: String
        @Option(name: .long, help: "The name the consent page shows.") var name: String?
        @Option(name: .customLong("redirect-uri"), parsing: .upToNextOption, help: "The new redirect URIs (replacing the old).")
        var redirectURIs: [String] = []
        @Flag(name: .customLong("trusted"), inversion: .prefixedNo, help: "Skip the consent page (first-party clients only), or not.")
        var trusted: Bool?

        func validate() throws {
            if let name { try ClientsCommand.validateName(name) }
            if !redirectURIs.isEmpty { try ClientsCommand.validateRedirectURIs(redirectURIs) }
            if name == nil, redirectURIs.isEmpty, trusted == nil {
                throw ValidationError("nothing to change: give --name, --redirect-uri, --trusted or --no-trusted")
            }
        }

        func run() async throws {
            let clientID = self.clientID
            var changes = ClientStore.PreregisteredChanges(name: name, trusted: trusted)
            if !redirectURIs.isEmpty {
                changes.redirectURIs = redirectURIs
                changes.applicationType = Client.preregistered(id: clientID, name: "", redirectURIs: redirectURIs, secret: nil,
                                                               trusted: false, now: Date()).applicationType
            }
            let finalChanges = changes
            try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                let store = ClientStore(database: database)
                guard try await store.updatePreregistered(clientID, finalChanges) else {
                    switch try await store.owner(of: clientID) {
                    case let owner? where owner.kind != Client.preregisteredKind:
                        AdminRuntime.printError("client \"\(clientID)\" is of kind \(owner.kind); only pre-registered clients can be updated")
                    case let owner? where owner.deleted:
                        AdminRuntime.printError("client \"\(clientID)\" was deleted")
                    default:
                        AdminRuntime.printError("no client with client_id \"\(clientID)\"")
                    }
                    throw ExitCode.failure
                }
                var detail = AdminRuntime.auditDetail
                if let name = finalChanges.name { detail["client_name"] = String(name.prefix(100)) }
                if let uris = finalChanges.redirectURIs { detail["redirect_uris"] = String(uris.joined(separator: " ").prefix(500)) }
                if let trusted = finalChanges.trusted { detail["trusted"] = trusted ? "true" : "false" }
                await AuditLog(database: database, logger: logger).record(.clientUpdated, clientID: clientID, detail: detail)
            }
            print("updated client \(clientID)")
        }
    }

    static func validateName(_ name: String) throws {
        let trimmed = name.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 100 else { throw ValidationError("--name must be 1 to 100 characters") }
    }

    /// The registration policy (`RedirectURIPolicy`), with each refused URI named.
    static func validateRedirectURIs(_ uris: [String]) throws {
        let problems = Client.redirectURIProblems(uris)
        guard problems.isEmpty else {
            throw ValidationError(uris.isEmpty ? "--redirect-uri is required" : "--redirect-uri refused: " + problems.joined(separator: "; "))
        }
    }
}
