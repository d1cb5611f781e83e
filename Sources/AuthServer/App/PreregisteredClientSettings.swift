import Foundation
import Logging
import Shared

/// The config file's `clients:`. Read with the rest of the configuration, but checked and their
/// secrets read only when the server is built (`resolve`), so an admin command that reads the
/// configuration (`keys rotate`) does not need the clients' secret files or variables. A redirect
/// URI the registration policy refuses, a missing or short secret, stops the AuthServer with one
/// message naming the key (`GATEHOUSE_CONFIG /etc/gatehouse.yaml: clients[0].redirect_uris[1]`).
/// `apply` then creates each client, or updates it to match, before the server takes requests.
struct PreregisteredClientSettings: Sendable {
    var entries: [PreregisteredClientConfiguration]
    /// The config file's path, for messages.
    var file: String
    /// Where `secret_env` names are looked up: the environment layered over the file.
    var environment: Environment

    init(file: GatehouseConfigFile?, environment: Environment) {
        entries = file?.clients ?? []
        self.file = file?.path ?? ""
        self.environment = environment
    }

    /// The clients to create or update, in the file's order; their secrets hashed only.
    func resolve(now: Date = Date()) throws -> [Client] {
        let source = "\(GatehouseConfigFile.variable) \(file)"
        return try entries.map { entry in
            func error(_ key: String, _ problem: String) -> ConfigurationError {
                ConfigurationError("\(source): \(entry.keyPath)\(key.isEmpty ? "" : "." + key)", problem)
            }
            for (index, uri) in entry.redirectURIs.enumerated() {
                if let problem = RedirectURIPolicy.validate(uri) {
                    throw error("redirect_uris[\(index)]", "\(problem): \"\(uri)\"")
                }
            }
            let secret = try entry.secret?.read(from: environment, keys: .secret, entry: "\(source): \(entry.keyPath)",
                                                check: Self.secretProblem)
            return Client.preregistered(id: entry.id, name: entry.name, redirectURIs: entry.redirectURIs, secret: secret,
                                        trusted: entry.trusted, now: now)
        }
    }

    /// Secrets are at least 32 printable ASCII characters: something a person types into a
    /// client, but of the strength of a generated one.
    static func secretProblem(_ secret: String) -> String? {
        guard secret.utf8.count >= Client.minimumResourceServerSecretLength, SecretSource.isPrintableASCII(secret) else {
            return "the secret must be at least \(Client.minimumResourceServerSecretLength) printable ASCII characters"
        }
        return nil
    }

    /// Creates or updates every configured client; a client_id held by a client of another kind
    /// (a dynamic registration, the resource server's client) stops the start.
    func apply(_ clients: [Client], store: ClientStore, audit: AuditLog, logger: Logger) async throws {
        for client in clients {
            let outcome = try await store.syncPreregistered(client)
            switch outcome {
            case .created, .updated:
                await audit.record(outcome == .created ? .clientRegistered : .clientUpdated, clientID: client.clientID,
                                   detail: ["source": "config file", "kind": Client.preregisteredKind])
                logger.info("pre-registered client \(outcome == .created ? "created" : "updated")",
                            metadata: ["client_id": "\(client.clientID)"])
            case .unchanged:
                break
            case .taken(let kind):
                throw ConfigurationError("\(GatehouseConfigFile.variable) \(file): clients",
                                         "client_id \"\(client.clientID)\" belongs to a client of kind \(kind); choose another id")
            }
        }
    }
}
