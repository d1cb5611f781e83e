import Foundation
import Shared

/// The config file's `login:` and `identity_providers:` (issue 12). Read with the rest of the
/// configuration; the client secrets are read only when the server is built (`resolve`), so an
/// admin command that reads the configuration does not need them, and a missing secret stops
/// `serve` with one line naming the key.
struct FederationSettings: Sendable {
    var passwordLogin: Bool
    var providers: [IdentityProviderConfiguration]
    /// The config file's path, for messages.
    var file: String
    /// Where `client_secret_env` names are looked up: the environment layered over the file.
    var environment: Environment

    init(file: GatehouseConfigFile?, environment: Environment) throws {
        passwordLogin = file?.login.password ?? true
        providers = file?.identityProviders ?? []
        self.file = file?.path ?? ""
        self.environment = environment
        if !passwordLogin && providers.isEmpty {
            throw ConfigurationError("\(GatehouseConfigFile.variable) \(self.file): login.password",
                                     "is false but no identity_providers are configured: nobody could sign in")
        }
    }

    /// Every provider with its client secret.
    func resolve() throws -> [ResolvedIdentityProvider] {
        let source = "\(GatehouseConfigFile.variable) \(file)"
        return try providers.map { entry in
            let secret = try entry.secret.read(from: environment, keys: .clientSecret, entry: "\(source): \(entry.keyPath)") {
                SecretSource.isPrintableASCII($0) ? nil : "the client secret must be printable ASCII without spaces"
            }
            return ResolvedIdentityProvider(configuration: entry, clientSecret: secret)
        }
    }

    var loginOptions: LoginOptions {
        LoginOptions(password: passwordLogin, providers: providers.map { ($0.id, $0.name) })
    }
}
