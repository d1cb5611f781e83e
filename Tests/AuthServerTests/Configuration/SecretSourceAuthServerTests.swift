import Foundation
import Shared
import Testing
@testable import AuthServer

/// The AuthServer's two readers of a `SecretSource`: identity providers' client secrets
/// (`FederationSettings.resolve`) and pre-registered clients' secrets
/// (`PreregisteredClientSettings.resolve`), each with its rule for the value, each message naming
/// the key. The pair itself is in SecretSourceTests (SharedTests).
@Suite struct SecretSourceAuthServerTests {
    static let provider = "identity_providers:\n  - id: corp\n    name: Corp\n    type: github\n    client_id: c\n"
    static let client = "clients:\n  - id: app\n    name: App\n    redirect_uris: [\"https://app.example/cb\"]\n"

    static func secretFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("secret-source-\(UUID().uuidString)")
        try Data(contents.utf8).write(to: url)
        return url
    }

    static func providerError(_ yaml: String, _ values: [String: String] = [:]) throws -> String {
        let file = try GatehouseConfigFile.parse(provider + yaml, path: "/etc/g.yaml")
        let settings = try FederationSettings(file: file, environment: Environment(values))
        return try #require(throws: ConfigurationError.self) { try settings.resolve() }.description
    }

    static func clientError(_ yaml: String, _ values: [String: String] = [:]) throws -> String {
        let file = try GatehouseConfigFile.parse(client + yaml, path: "/etc/g.yaml")
        let settings = PreregisteredClientSettings(file: file, environment: Environment(values))
        return try #require(throws: ConfigurationError.self) { try settings.resolve() }.description
    }

    static let prefix = "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: "

    @Test("identity provider: missing file, empty file, a space, unset and empty variable")
    func identityProvider() throws {
        #expect(try Self.providerError("    client_secret_file: /nonexistent/corp\n")
                == Self.prefix + "identity_providers[0].client_secret_file: cannot read /nonexistent/corp")
        let empty = try Self.secretFile("\n")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(try Self.providerError("    client_secret_file: \(empty.path)\n")
                == Self.prefix + "identity_providers[0].client_secret_file: the client secret must be printable ASCII without spaces")
        #expect(try Self.providerError("    client_secret_env: CORP_SECRET\n", ["CORP_SECRET": "two words"])
                == Self.prefix + "identity_providers[0].client_secret_env: the client secret must be printable ASCII without spaces")
        for values in [[:], ["CORP_SECRET": ""]] {
            #expect(try Self.providerError("    client_secret_env: CORP_SECRET\n", values)
                    == Self.prefix + "identity_providers[0].client_secret_env: CORP_SECRET is not set")
        }
    }

    @Test("identity provider: the file's secret without the newline after it")
    func identityProviderReadsTheFile() throws {
        let url = try Self.secretFile("corp-s3cr3t\n")
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try GatehouseConfigFile.parse(Self.provider + "    client_secret_file: \(url.path)\n", path: "/etc/g.yaml")
        let resolved = try FederationSettings(file: file, environment: Environment([:])).resolve()
        #expect(resolved.map(\.clientSecret) == ["corp-s3cr3t"])
        #expect(!String(describing: resolved).contains("corp-s3cr3t"))
    }

    @Test("pre-registered client: empty file, short or spaced variable, empty variable")
    func preregisteredClient() throws {
        let empty = try Self.secretFile(" \n")
        defer { try? FileManager.default.removeItem(at: empty) }
        #expect(try Self.clientError("    secret_file: \(empty.path)\n")
                == Self.prefix + "clients[0].secret_file: the secret must be at least 32 printable ASCII characters")
        let spaced = String(repeating: "a", count: 20) + " " + String(repeating: "b", count: 20)
        #expect(try Self.clientError("    secret_env: APP_SECRET\n", ["APP_SECRET": spaced])
                == Self.prefix + "clients[0].secret_env: the secret must be at least 32 printable ASCII characters")
        #expect(try Self.clientError("    secret_env: APP_SECRET\n", ["APP_SECRET": ""])
                == Self.prefix + "clients[0].secret_env: APP_SECRET is not set")
        #expect(try Self.clientError("    secret_file: /nonexistent/app\n")
                == Self.prefix + "clients[0].secret_file: cannot read /nonexistent/app")
    }
}
