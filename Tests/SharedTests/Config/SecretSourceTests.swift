import Foundation
import Shared
import Testing

/// `SecretSource`: the one parser of the `<name>_file` / `<name>_env` pairs of identity providers,
/// connections and pre-registered clients. The pair is checked when the file is read (exactly
/// one key, a non-empty value), the secret read at start-up; every message names the key. The
/// AuthServer's own rules for the value read are in SecretSourceAuthServerTests.
@Suite struct SecretSourceTests {
    /// One entry of each list that holds a pair, without its secret keys.
    struct Kind: Sendable, CustomTestStringConvertible {
        let list: String
        let entry: String
        let keys: SecretSource.Keys
        var testDescription: String { list }

        static let identityProvider = Kind(
            list: "identity_providers", entry: "id: corp\n    name: Corp\n    type: github\n    client_id: c",
            keys: .clientSecret)
        static let connection = Kind(
            list: "connections",
            entry: "id: crm\n    name: CRM\n    authorization_endpoint: https://crm.example/a\n    token_endpoint: https://crm.example/t\n    client_id: c",
            keys: .clientSecret)
        static let client = Kind(
            list: "clients", entry: "id: app\n    name: App\n    redirect_uris: [https://app.example/cb]", keys: .secret)
        static let all = [identityProvider, connection, client]

        func yaml(_ lines: String...) -> String {
            "\(list):\n  - \(entry)\n" + lines.map { "    \($0)\n" }.joined()
        }

        func source(in file: GatehouseConfigFile) -> SecretSource? {
            switch list {
            case "identity_providers": file.identityProviders.first?.secret
            case "connections": file.connections.first?.secret
            default: file.clients.first?.secret
            }
        }
    }

    static func parseError(_ yaml: String) throws -> String {
        try #require(throws: ConfigurationError.self) { try GatehouseConfigFile.parse(yaml, path: "/etc/g.yaml") }.description
    }

    /// A file of its own in the temporary directory, removed by the caller.
    static func secretFile(_ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("secret-source-\(UUID().uuidString)")
        try Data(contents.utf8).write(to: url)
        return url
    }

    static let entry = "GATEHOUSE_CONFIG /etc/g.yaml: identity_providers[0]"

    // MARK: the pair, when the file is read

    @Test("each key yields its source", arguments: Kind.all)
    func eachKeyYieldsItsSource(kind: Kind) throws {
        let file = try GatehouseConfigFile.parse(kind.yaml("\(kind.keys.file): /run/secrets/x"), path: "/etc/g.yaml")
        #expect(kind.source(in: file) == .file("/run/secrets/x"))
        let environment = try GatehouseConfigFile.parse(kind.yaml("\(kind.keys.environment): APP_SECRET"), path: "/etc/g.yaml")
        #expect(kind.source(in: environment) == .environment("APP_SECRET"))
    }

    @Test("both keys: an error at the second, naming both", arguments: Kind.all)
    func bothGiven(kind: Kind) throws {
        let message = try Self.parseError(kind.yaml("\(kind.keys.file): /run/s", "\(kind.keys.environment): S"))
        #expect(message == "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: \(kind.list)[0].\(kind.keys.environment): "
                + "use one of \(kind.keys.file) and \(kind.keys.environment)")
    }

    @Test("both keys on a public client: still the pair's error first")
    func bothGivenOnAPublicClient() throws {
        let message = try Self.parseError(Kind.client.yaml("public: true", "secret_file: /run/s", "secret_env: S"))
        #expect(message.hasSuffix("clients[0].secret_env: use one of secret_file and secret_env"))
    }

    @Test("neither key: what each list makes of it")
    func neitherGiven() throws {
        #expect(try Self.parseError(Kind.identityProvider.yaml()) == "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: "
                + "identity_providers[0]: needs client_secret_file or client_secret_env (the client secret the provider issued)")
        #expect(try Self.parseError(Kind.client.yaml()) == "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: "
                + "clients[0]: needs secret_file or secret_env (a confidential client), or public: true")
        // A connection without either is a public client, which needs PKCE.
        let file = try GatehouseConfigFile.parse(Kind.connection.yaml(), path: "/etc/g.yaml")
        #expect(try #require(file.connections.first).secret == nil)
        #expect(try Self.parseError(Kind.connection.yaml("pkce: false")) == "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: "
                + "connections[0]: a connection without client_secret_file or client_secret_env is a public client and needs pkce: true")
        #expect(try GatehouseConfigFile.parse(Kind.client.yaml("public: true"), path: "/etc/g.yaml").clients.first?.secret == nil)
    }

    @Test("a public client with a secret key: named, and what to remove")
    func aPublicClientWithASecret() throws {
        let message = try Self.parseError(Kind.client.yaml("public: true", "secret_env: S"))
        #expect(message.hasSuffix("clients[0].secret_env: a public client has no secret; remove secret_env or public: true"))
    }

    @Test("an empty value, or not a string, is an error at its key", arguments: Kind.all)
    func emptyValue(kind: Kind) throws {
        #expect(try Self.parseError(kind.yaml("\(kind.keys.file): \"  \"")).hasSuffix("\(kind.list)[0].\(kind.keys.file): must not be empty"))
        #expect(try Self.parseError(kind.yaml("\(kind.keys.environment):")).hasSuffix("\(kind.list)[0].\(kind.keys.environment): expected a string"))
    }

    // MARK: the secret, at start-up

    @Test("a file: its contents without the whitespace and newlines around them")
    func readsAFile() throws {
        let url = try Self.secretFile("\n s3cr3t-value \r\n\n")
        defer { try? FileManager.default.removeItem(at: url) }
        let secret = try SecretSource.file(url.path).read(from: Environment([:]), keys: .clientSecret, entry: Self.entry) { _ in nil }
        #expect(secret == "s3cr3t-value")
    }

    @Test("a missing file: cannot read, at the file key")
    func missingFile() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SecretSource.file("/nonexistent/secret").read(from: Environment([:]), keys: .clientSecret, entry: Self.entry) { _ in nil }
        }
        #expect(error.description == "configuration error: \(Self.entry).client_secret_file: cannot read /nonexistent/secret")
    }

    @Test("an empty file: the caller's rule refuses it, at the file key")
    func emptyFile() throws {
        let url = try Self.secretFile(" \n")
        defer { try? FileManager.default.removeItem(at: url) }
        let error = try #require(throws: ConfigurationError.self) {
            try SecretSource.file(url.path).read(from: Environment([:]), keys: .secret, entry: "GATEHOUSE_CONFIG /f: clients[0]") {
                $0.isEmpty ? "the secret is empty" : nil
            }
        }
        #expect(error.description == "configuration error: GATEHOUSE_CONFIG /f: clients[0].secret_file: the secret is empty")
    }

    @Test("a variable: its value, trimmed")
    func readsAVariable() throws {
        let secret = try SecretSource.environment("CORP_SECRET")
            .read(from: Environment(["CORP_SECRET": " s3cr3t\n"]), keys: .clientSecret, entry: Self.entry) { _ in nil }
        #expect(secret == "s3cr3t")
    }

    @Test("an unset or empty variable: not set, at the variable key", arguments: [[:], ["CORP_SECRET": ""], ["CORP_SECRET": " \n"]])
    func unsetOrEmptyVariable(values: [String: String]) throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SecretSource.environment("CORP_SECRET").read(from: Environment(values), keys: .clientSecret, entry: Self.entry) { _ in nil }
        }
        #expect(error.description == "configuration error: \(Self.entry).client_secret_env: CORP_SECRET is not set")
    }

    @Test("the caller's rule sees the value read and names the key")
    func theRuleNamesTheKey() throws {
        let error = try #require(throws: ConfigurationError.self) {
            try SecretSource.environment("S").read(from: Environment(["S": "short"]), keys: .secret, entry: "GATEHOUSE_CONFIG /f: clients[1]") {
                $0.count < 32 ? "the secret must be at least 32 printable ASCII characters" : nil
            }
        }
        #expect(error.description == "configuration error: GATEHOUSE_CONFIG /f: clients[1].secret_env: the secret must be at least 32 printable ASCII characters")
        #expect(!error.description.contains("short"))
    }

    @Test("printable ASCII: not empty, no spaces or control characters")
    func printableASCII() {
        #expect(SecretSource.isPrintableASCII("a-Z_0.9~!"))
        #expect(!SecretSource.isPrintableASCII(""))
        #expect(!SecretSource.isPrintableASCII("a b"))
        #expect(!SecretSource.isPrintableASCII("a\tb"))
        #expect(!SecretSource.isPrintableASCII("café"))
    }

    // MARK: connections, end to end

    @Test("connections: an empty secret file and an unset variable stop start-up, naming the key")
    func connectionSettings() throws {
        let url = try Self.secretFile("\n")
        defer { try? FileManager.default.removeItem(at: url) }
        let empty = try GatehouseConfigFile.parse(Kind.connection.yaml("client_secret_file: \(url.path)"), path: "/etc/g.yaml")
        let emptyError = try #require(throws: ConfigurationError.self) { try ConnectionSettings(file: empty, environment: Environment([:])) }
        #expect(emptyError.description == "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: connections[0].client_secret_file: the client secret is empty")
        let unset = try GatehouseConfigFile.parse(Kind.connection.yaml("client_secret_env: CRM_SECRET"), path: "/etc/g.yaml")
        let unsetError = try #require(throws: ConfigurationError.self) { try ConnectionSettings(file: unset, environment: Environment([:])) }
        #expect(unsetError.description == "configuration error: GATEHOUSE_CONFIG /etc/g.yaml: connections[0].client_secret_env: CRM_SECRET is not set")
        let settings = try ConnectionSettings(file: unset, environment: Environment(["CRM_SECRET": "crm-s3cr3t"]))
        #expect(!String(describing: settings.clients(clock: .system)).contains("crm-s3cr3t"))
    }

    // MARK: printing

    @Test("a source prints where the secret is, never a value")
    func description() throws {
        #expect(String(describing: SecretSource.file("/run/secrets/corp")) == "<redacted> (from the file /run/secrets/corp)")
        #expect(String(describing: SecretSource.environment("CORP_SECRET")) == "<redacted> (from the environment variable CORP_SECRET)")
        let file = try GatehouseConfigFile.parse(Kind.identityProvider.yaml("client_secret_env: CORP_SECRET"), path: "/etc/g.yaml")
        #expect(String(describing: try #require(file.identityProviders.first)).contains("<redacted>"))
    }
}
