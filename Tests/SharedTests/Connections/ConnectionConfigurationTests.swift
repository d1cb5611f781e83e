import Foundation
import Testing
@testable import Shared

/// The config file's `connections:` and a resource's `connections:` (issue 12, "Connections").
@Suite struct ConnectionConfigurationTests {
    static let resource = """
        resources:
          - path: /mcp/ownerrez
            name: OwnerRez tools
            scopes: {rez: Use OwnerRez}
            tools: {"*": [rez]}
            connections: [ownerrez]
            upstream: {http: {url: http://127.0.0.1:3002/mcp}}
        """

    static let connection = """
        connections:
          - id: ownerrez
            name: OwnerRez
            authorization_endpoint: https://app.ownerrez.com/oauth/authorize
            token_endpoint: https://api.ownerrez.com/oauth/access_token
            client_id: c_abc
            client_secret_env: OWNERREZ_SECRET
            scopes: [read, write]
            pkce: true
        """

    @Test func parsesTheIssueExample() throws {
        let file = try GatehouseConfigFile.parse(Self.connection + "\n" + Self.resource, path: "/etc/gh.yaml")
        let connection = try #require(file.connections.first)
        #expect(connection.id == "ownerrez")
        #expect(connection.name == "OwnerRez")
        #expect(connection.tokenEndpoint == "https://api.ownerrez.com/oauth/access_token")
        #expect(connection.secret == .environment("OWNERREZ_SECRET"))
        #expect(connection.scopes == ["read", "write"])
        #expect(connection.pkce)
        #expect(!connection.allowInsecureLoopback)
        #expect(connection.headerName == "X-Gatehouse-Connection-ownerrez")
        #expect(connection.environmentVariable == "GATEHOUSE_CONNECTION_OWNERREZ_TOKEN")
        #expect(file.resources[0].connections == ["ownerrez"])
    }

    @Test func theResourceMayComeFirst() throws {
        let file = try GatehouseConfigFile.parse(Self.resource + "\n" + Self.connection, path: "/etc/gh.yaml")
        #expect(file.resources[0].connections == ["ownerrez"])
    }

    @Test func environmentVariableNames() {
        #expect(ConnectionConfiguration.environmentVariable(for: "my-crm_2") == "GATEHOUSE_CONNECTION_MY_CRM_2_TOKEN")
    }

    @Test func anUnknownConnectionStopsStartUp() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try GatehouseConfigFile.parse(Self.resource, path: "/etc/gh.yaml")
        }
        #expect(error.description.contains("resources[0].connections"))
        #expect(error.description.contains("ownerrez is not the id of an entry of connections"))
        #expect(ConfigurationError.exitCode == 78)
    }

    @Test(arguments: [
        ("connections:\n  - id: a\n    name: A\n    authorization_endpoint: http://127.0.0.1:1/a\n    token_endpoint: https://x.example/t\n    client_id: c\n    client_secret_env: S",
         "authorization_endpoint: plain http to a loopback address needs allow_insecure_loopback: true"),
        ("connections:\n  - id: a\n    name: A\n    authorization_endpoint: http://x.example/a\n    token_endpoint: https://x.example/t\n    client_id: c\n    client_secret_env: S\n    allow_insecure_loopback: true",
         "authorization_endpoint: must be https"),
        ("connections:\n  - id: a b\n    name: A\n    authorization_endpoint: https://x.example/a\n    token_endpoint: https://x.example/t\n    client_id: c",
         "connections[0].id: must be 1 to 64 letters"),
        ("connections:\n  - id: a\n    name: A\n    authorization_endpoint: https://x.example/a\n    token_endpoint: https://x.example/t\n    client_id: c\n    pkce: false",
         "is a public client and needs pkce: true"),
        ("connections:\n  - id: a\n    name: A\n    authorization_endpoint: https://x.example/a\n    token_endpoint: https://x.example/t\n    client_id: c\n    client_secret_env: S\n    client_secret_file: /f",
         "use one of client_secret_file and client_secret_env"),
        ("connections:\n  - id: a\n    name: A\n    authorization_endpoint: https://x.example/a\n    client_id: c",
         "token_endpoint is missing"),
        ("connections:\n  - id: a\n    name: A\n    authorization_endpoint: https://x.example/a\n    token_endpoint: https://x.example/t\n    client_id: c\n    colour: red",
         "connections[0].colour: unknown key"),
        ("connections:\n  - {id: a-b, name: A, authorization_endpoint: 'https://x.example/a', token_endpoint: 'https://x.example/t', client_id: c}\n  - {id: a_b, name: B, authorization_endpoint: 'https://x.example/a', token_endpoint: 'https://x.example/t', client_id: c}",
         "connections[1].id: \"a_b\" clashes with the id of connections[0]"),
    ])
    func badEntriesNameTheirKey(yaml: String, expected: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try GatehouseConfigFile.parse(yaml, path: "/etc/gh.yaml") }
        #expect(error.description.contains(expected), "\(error.description)")
    }

    @Test func aLoopbackProviderIsAcceptedWhenAllowed() throws {
        let yaml = "connections:\n  - id: t\n    name: T\n    authorization_endpoint: http://127.0.0.1:9100/authorize\n    token_endpoint: http://127.0.0.1:9100/token\n    revocation_endpoint: http://127.0.0.1:9100/revoke\n    client_id: c\n    client_secret_file: /run/s\n    allow_insecure_loopback: true"
        let connection = try #require(try GatehouseConfigFile.parse(yaml, path: "/f").connections.first)
        #expect(connection.revocationEndpoint == "http://127.0.0.1:9100/revoke")
        #expect(connection.secret == .file("/run/s"))
    }

    @Test func theSecretIsReadAtStartUpAndNamedWhenMissing() throws {
        let file = try GatehouseConfigFile.parse(Self.connection + "\n" + Self.resource, path: "/etc/gh.yaml")
        let error = try #require(throws: ConfigurationError.self) {
            try ConnectionSettings(file: file, environment: Environment([:]))
        }
        #expect(error.description.contains("connections[0].client_secret_env"))
        let settings = try ConnectionSettings(file: file, environment: Environment(["OWNERREZ_SECRET": "s3cr3t"]))
        #expect(settings.connection("ownerrez")?.name == "OwnerRez")
        #expect(!String(describing: settings.clients(clock: .system)).contains("s3cr3t"))
    }

    /// Issue 12: "the built-in tools reach it through the verified identity": a built-in
    /// resource names connections like any other, checked against `connections:` the same way.
    @Test func aBuiltinResourceNamesConnections() throws {
        let yaml = Self.connection + "\nresources:\n  - path: /mcp\n    builtin: notes\n    connections: [ownerrez]"
        #expect(try GatehouseConfigFile.parse(yaml, path: "/f").resources.first?.connections == ["ownerrez"])
        let unknown = Self.connection + "\nresources:\n  - path: /mcp\n    builtin: notes\n    connections: [crm]"
        let error = try #require(throws: ConfigurationError.self) { try GatehouseConfigFile.parse(unknown, path: "/f") }
        #expect(error.description.contains("resources[0].connections"))
        let twice = Self.connection + "\nresources:\n  - path: /mcp\n    builtin: notes\n    connections: [ownerrez, ownerrez]"
        #expect(throws: ConfigurationError.self) { try GatehouseConfigFile.parse(twice, path: "/f") }
    }
}
