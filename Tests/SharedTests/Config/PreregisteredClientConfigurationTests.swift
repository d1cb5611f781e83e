import Foundation
import Shared
import Testing

/// The config file's `clients:` list (issue 13 item 1): its shape, read by both services (the
/// ResourceServer ignores it); the AuthServer's own checks are in PreregisteredClientFlowTests.
@Suite struct PreregisteredClientConfigurationTests {
    @Test("clients: parses in order, with the secret's source, trust and each entry's key path")
    func parses() throws {
        let file = try GatehouseConfigFile.parse("""
            clients:
              - id: claude-advanced
                name: Claude
                redirect_uris: [https://claude.ai/api/mcp/auth_callback]
                secret_file: /run/secrets/x
              - id: vscode
                name: VS Code
                redirect_uris: ["http://127.0.0.1:33418", https://vscode.dev/redirect]
                secret_env: VSCODE_SECRET
                trusted: true
              - id: cursor
                name: Cursor
                redirect_uris: ["cursor://anysphere.cursor-mcp/oauth/callback"]
                public: true
            """, path: "/etc/g.yaml")
        #expect(file.resources.isEmpty)
        #expect(file.clients == [
            PreregisteredClientConfiguration(id: "claude-advanced", name: "Claude",
                                             redirectURIs: ["https://claude.ai/api/mcp/auth_callback"],
                                             secret: .file("/run/secrets/x"), trusted: false, keyPath: "clients[0]"),
            PreregisteredClientConfiguration(id: "vscode", name: "VS Code",
                                             redirectURIs: ["http://127.0.0.1:33418", "https://vscode.dev/redirect"],
                                             secret: .environment("VSCODE_SECRET"), trusted: true, keyPath: "clients[1]"),
            PreregisteredClientConfiguration(id: "cursor", name: "Cursor",
                                             redirectURIs: ["cursor://anysphere.cursor-mcp/oauth/callback"],
                                             secret: .none, trusted: false, keyPath: "clients[2]"),
        ])
    }

    @Test("shape errors name the key", arguments: [
        ("clients: {id: a}", "clients: expected a list"),
        ("clients:\n  - name: A\n    redirect_uris: [https://a.example/cb]\n    public: true", "clients[0]: id is missing"),
        ("clients:\n  - id: a\n    redirect_uris: [https://a.example/cb]\n    public: true", "clients[0]: name is missing"),
        ("clients:\n  - id: a\n    name: A\n    public: true", "clients[0]: redirect_uris is missing"),
        ("clients:\n  - id: a\n    name: A\n    redirect_uris: https://a.example/cb\n    public: true", "clients[0].redirect_uris: expected a list"),
        ("clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    public: \"true\"", "clients[0].public: expected true or false"),
        ("clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    trusted: yes\n    public: true", "clients[0].trusted: expected true or false"),
        ("clients:\n  - id: a\n    name: A\n    redirect_uris: [https://a.example/cb]\n    secret_file: /x\n    secret_env: X", "clients[0].secret_env: use one of secret_file and secret_env"),
        ("clients:\n  - id: a b\n    name: A\n    redirect_uris: [https://a.example/cb]\n    public: true", "clients[0].id: must be 1 to 128 letters"),
        ("clients:\n  - id: \"-a\"\n    name: A\n    redirect_uris: [https://a.example/cb]\n    public: true", "clients[0].id: must be 1 to 128 letters, digits or . _ -, starting with a letter or digit"),
        ("client:\n  - id: a", "client: unknown key; expected resources, clients, connections, login, identity_providers or one of"),
    ])
    func shapeErrors(text: String, expected: String) {
        do {
            _ = try GatehouseConfigFile.parse(text, path: "/etc/g.yaml")
            Issue.record("accepted: \(text)")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("GATEHOUSE_CONFIG /etc/g.yaml: \(expected)"), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
