import Foundation
import Shared

extension ResourceServerConfiguration {
    /// With `connections:` the ResourceServer opens and re-seals users' connection tokens, so it
    /// needs the AuthServer's key-encryption key (`GATEHOUSE_KEK_FILE` or `GATEHOUSE_KEK`, the
    /// same value); without connections it never reads one. A generated key cannot be shared, so
    /// `GATEHOUSE_INSECURE_GENERATE_KEK` does not apply here. A shared stdio process (`per_user:
    /// false`) cannot hold one user's tokens, so it cannot name connections.
    static func connectionKeyEncryptionKey(_ environment: Environment, connections: ConnectionSettings,
                                           resources: ProtectedResourceCatalog) throws -> KeyEncryptionKey? {
        for resource in resources.resources where !resource.configuration.connections.isEmpty {
            if case .stdio(let stdio) = resource.configuration.upstream, !stdio.perUser {
                throw ConfigurationError("\(GatehouseConfigFile.variable): \(resource.path)",
                                         "a stdio upstream with per_user: false is shared by every user and cannot receive one user's connection tokens; remove connections or per_user: false")
            }
        }
        guard !connections.isEmpty else { return nil }
        if let file = environment.string("GATEHOUSE_KEK_FILE") {
            do { return try KeyEncryptionKey(contentsOfFile: file) } catch {
                throw ConfigurationError("GATEHOUSE_KEK_FILE", "must name a file holding a base64-encoded 32-byte key (the AuthServer's)")
            }
        }
        if let value = environment.string("GATEHOUSE_KEK") {
            do { return try KeyEncryptionKey(base64: value) } catch {
                throw ConfigurationError("GATEHOUSE_KEK", "must be a base64-encoded 32-byte key (the AuthServer's)")
            }
        }
        throw ConfigurationError("GATEHOUSE_KEK_FILE",
            "is required when the config file has connections: the ResourceServer opens users' connection tokens with the AuthServer's key-encryption key")
    }
}
