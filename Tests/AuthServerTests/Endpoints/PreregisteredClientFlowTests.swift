import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Pre-registered clients (issue 13 item 1) through the real AuthServer: the clients people
/// configure by hand (Cursor's `oauthClientId`, Claude's "Advanced settings"), `trusted`, and the
/// config file's `clients:` applied at start-up.
@Suite struct PreregisteredClientFlowTests {
    static let cursorRedirect = "cursor://anysphere.cursor-mcp/oauth/callback"
    static let claudeRedirect = "https://claude.ai/api/mcp/auth_callback"

    /// Creates a pre-registered client the way `clients create` does.
    static func create(_ server: TestAuthServer, redirect: String, secret: String? = nil, trusted: Bool = false,
                       authMethod: String = "none") async throws -> RegisteredClient {
        let id = "prereg-\(UUID().uuidString.prefix(12).lowercased())"
        let client = Client.preregistered(id: id, name: "Pre-registered \(id)", redirectURIs: [redirect], secret: secret,
                                          trusted: trusted, now: Date())
        #expect(try await server.environment.clients.insertPreregistered(client) == .created)
        return RegisteredClient(id: id, secret: secret, redirectURI: redirect, authMethod: authMethod)
    }

    /// The server as seen by a person of this test's own: many concurrent sign-ins of the shared
    /// fixture user would be throttled (attempts in flight count until they are settled).
    static func ownUser(_ server: TestAuthServer) async throws -> TestAuthServer {
        let name = TestDatabase.uniqueName("prereg")
        _ = try await server.environment.users.create(username: name, password: AuthServerFixture.password)
        return TestAuthServer(client: server.client, clock: server.clock, environment: server.environment,
                              address: server.address, username: name)
    }

    static func withMethod(_ client: RegisteredClient, _ method: String, secret: String? = nil) -> RegisteredClient {
        RegisteredClient(id: client.id, secret: secret ?? client.secret, redirectURI: client.redirectURI, authMethod: method)
    }

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-prereg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test("Cursor: a public pre-registered client with a private-use redirect completes authorize, token and refresh")
    func cursorPublicClient() async throws {
        try await TestAuthServer.run(.live) { shared in
            let server = try await Self.ownUser(shared)
            let client = try await Self.create(server, redirect: Self.cursorRedirect)
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(!tokens.accessToken.isEmpty && !tokens.refreshToken.isEmpty)
            let refreshed = try await server.refresh(tokens.refreshToken, client: client)
            #expect(refreshed.status == .ok, "\(refreshed.body)")
            #expect((refreshed.json["refresh_token"] as? String)?.isEmpty == false)

            // A redirect URI that was not pre-registered is refused before anything else.
            let wrong = try await server.get("/authorize?" + FormEncoding.query(server.authorizeParameters(
                client, PKCE(), changes: ["redirect_uri": "cursor://anysphere.cursor-mcp/other"])))
            #expect(wrong.status == .badRequest && wrong.isHTML)
            // A public client proves nothing with a secret.
            let confused = try await server.refresh(refreshed.json["refresh_token"] as? String ?? "",
                                                    client: Self.withMethod(client, "client_secret_post", secret: "x"))
            #expect(confused.status == .unauthorized && confused.error == "invalid_client")
        }
    }

    @Test("Claude Advanced settings: a confidential client may use client_secret_post and client_secret_basic")
    func claudeConfidentialClient() async throws {
        try await TestAuthServer.run(.live) { shared in
            let server = try await Self.ownUser(shared)
            let secret = SecureRandom.token()
            let client = try await Self.create(server, redirect: Self.claudeRedirect, secret: secret,
                                               authMethod: "client_secret_post")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(!tokens.refreshToken.isEmpty)
            let basic = Self.withMethod(client, "client_secret_basic")
            let refreshed = try await server.refresh(tokens.refreshToken, client: basic)
            #expect(refreshed.status == .ok, "\(refreshed.body)")

            // A wrong secret, or none, is 401 invalid_client with either method.
            let next = refreshed.json["refresh_token"] as? String ?? ""
            let wrong = try await server.refresh(next, client: Self.withMethod(client, "client_secret_basic", secret: "wrong"))
            #expect(wrong.status == .unauthorized && wrong.error == "invalid_client")
            let none = try await server.refresh(next, client: Self.withMethod(client, "none"))
            #expect(none.status == .unauthorized && none.error == "invalid_client")
            // And the code flow works with Basic from the start.
            var second = Browser(server)
            let again = try await server.issueTokens(basic, browser: &second)
            #expect(!again.accessToken.isEmpty)
        }
    }

    @Test("Dynamic clients are still held to their registered method (only pre-registered ones may choose)")
    func dynamicClientKeepsItsMethod() async throws {
        try await TestAuthServer.run { shared in
            let server = try await Self.ownUser(shared)
            let client = try await server.registerClient(authMethod: "client_secret_basic")
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            let reply = try await server.exchange(code, client: Self.withMethod(client, "client_secret_post"), verifier: pkce.verifier)
            #expect(reply.status == .unauthorized && reply.error == "invalid_client")
        }
    }

    @Test("trusted skips the consent page (unless prompt=consent); untrusted shows it")
    func trustedSkipsConsent() async throws {
        try await TestAuthServer.run { shared in
            let server = try await Self.ownUser(shared)
            let trusted = try await Self.create(server, redirect: Self.cursorRedirect, trusted: true)
            var browser = Browser(server)
            let login = try await browser.authorize(server.authorizeParameters(trusted, PKCE()))
            #expect(login.isLoginPage)
            let answer = try await browser.login(from: login)
            #expect(answer.status == .seeOther && answer.redirectParameters["code"] != nil, "\(answer.status) \(answer.body.prefix(200))")
            #expect(answer.location?.hasPrefix(Self.cursorRedirect) == true)
            // Signed in: straight back with a code.
            let direct = try await browser.authorize(server.authorizeParameters(trusted, PKCE()))
            #expect(direct.status == .seeOther && direct.redirectParameters["code"] != nil)
            // The client may still ask for the page.
            let asked = try await browser.authorize(server.authorizeParameters(trusted, PKCE(), changes: ["prompt": "consent"]))
            #expect(asked.isConsentPage)

            let untrusted = try await Self.create(server, redirect: Self.cursorRedirect)
            let shown = try await browser.authorize(server.authorizeParameters(untrusted, PKCE()))
            #expect(shown.isConsentPage)
            let approved = try await browser.consent(from: shown)
            #expect(approved.status == .seeOther && approved.redirectParameters["code"] != nil)
            // A private-use redirect never proves the client: untrusted, it asks every time.
            #expect(try await browser.authorize(server.authorizeParameters(untrusted, PKCE())).isConsentPage)
        }
    }

    // MARK: The config file's clients:

    static func config(id: String, secretFile: String, trusted: Bool = false, name: String = "Claude") -> String {
        """
        clients:
          - id: \(id)
            name: \(name)
            redirect_uris: [\(claudeRedirect)]
            secret_file: \(secretFile)
            trusted: \(trusted)
          - id: \(id)-cursor
            name: Cursor
            redirect_uris: ["\(cursorRedirect)"]
            public: true
        """
    }

    static func write(_ text: String, to path: String) throws {
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test("A config-file client is created at start, keeps its ID across a restart, and a changed secret file rotates its secret")
    func configFileClientSurvivesRestart() async throws {
        let directory = try Self.scratch()
        let id = "claude-advanced-\(UUID().uuidString.prefix(8).lowercased())"
        let secretFile = directory.appendingPathComponent("claude-secret").path
        let configPath = directory.appendingPathComponent("gatehouse.yaml").path
        let first = SecureRandom.token()
        try Self.write(first + "\n", to: secretFile)
        try Self.write(Self.config(id: id, secretFile: secretFile), to: configPath)
        let overrides = ["GATEHOUSE_CONFIG": configPath]

        let refreshToken: String = try await TestAuthServer.run(overrides: overrides) { shared in
            let server = try await Self.ownUser(shared)
            let stored = try #require(try await server.environment.clients.stored(id))
            #expect(stored.client.isPreregistered && stored.client.authMethod == .clientSecretBasic && !stored.client.trusted)
            #expect(stored.client.secretHash == Digest.sha256(first))
            let cursor = try #require(try await server.environment.clients.stored("\(id)-cursor"))
            #expect(cursor.client.isPublic && cursor.client.applicationType == "native")
            let client = RegisteredClient(id: id, secret: first, redirectURI: Self.claudeRedirect, authMethod: "client_secret_post")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            return tokens.refreshToken
        }

        // Restart with the same file: the same client, the same secret, the same tokens.
        let second = try await TestAuthServer.run(overrides: overrides) { server in
            let client = RegisteredClient(id: id, secret: first, redirectURI: Self.claudeRedirect, authMethod: "client_secret_basic")
            let refreshed = try await server.refresh(refreshToken, client: client)
            #expect(refreshed.status == .ok, "\(refreshed.body)")
            return refreshed.json["refresh_token"] as? String ?? ""
        }

        // A new secret in the file (and a changed name and trust): applied at the next start.
        let rotated = SecureRandom.token()
        try Self.write(rotated, to: secretFile)
        try Self.write(Self.config(id: id, secretFile: secretFile, trusted: true, name: "Claude (work)"), to: configPath)
        try await TestAuthServer.run(overrides: overrides) { server in
            let old = try await server.refresh(second, client: RegisteredClient(
                id: id, secret: first, redirectURI: Self.claudeRedirect, authMethod: "client_secret_basic"))
            #expect(old.status == .unauthorized && old.error == "invalid_client")
            let new = try await server.refresh(second, client: RegisteredClient(
                id: id, secret: rotated, redirectURI: Self.claudeRedirect, authMethod: "client_secret_basic"))
            #expect(new.status == .ok, "\(new.body)")
            let stored = try #require(try await server.environment.clients.stored(id))
            #expect(stored.client.name == "Claude (work)" && stored.client.trusted)
            #expect(try await server.count("SELECT count(*)::int FROM clients WHERE client_id = \(id)") == 1)
        }
    }

    @Test("A bad clients: entry stops start-up with one message naming the key")
    func badEntriesStopStartUp() async throws {
        let fixture = try await AuthServerFixture.shared()
        let directory = try Self.scratch()
        let secretFile = directory.appendingPathComponent("secret").path
        try Self.write(SecureRandom.token(), to: secretFile)
        let cases: [(String, String)] = [
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"http://example.com/cb\"]\n    public: true\n",
             "clients[0].redirect_uris[0]: http redirect URIs are allowed only for loopback hosts"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"javascript:alert(1)\"]\n    public: true\n",
             "clients[0].redirect_uris[0]: redirect URI scheme javascript is not allowed"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n",
             "clients[0]: needs secret_file or secret_env"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    secret_file: \(directory.path)/missing\n",
             "clients[0].secret_file: cannot read"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    secret_env: GATEHOUSE_TEST_UNSET_SECRET\n",
             "clients[0].secret_env: GATEHOUSE_TEST_UNSET_SECRET is not set"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    secret_env: SHORT_SECRET\n",
             "clients[0].secret_env: the secret must be at least 32"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    public: true\n    secret_file: \(secretFile)\n",
             "clients[0].secret_file: a public client has no secret"),
            ("clients:\n  - id: https://x.example/c\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    public: true\n",
             "clients[0].id: must be 1 to 128 letters"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    public: true\n    colour: red\n",
             "clients[0].colour: unknown key"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    public: true\n  - id: a\n    name: B\n    redirect_uris: [\"https://x.example/cb\"]\n    public: true\n",
             "clients[1].id: \"a\" is already the id of clients[0]"),
            ("clients:\n  - id: a\n    name: A\n    redirect_uris: []\n    public: true\n",
             "clients[0].redirect_uris: must list at least one redirect URI"),
        ]
        for (text, expected) in cases {
            let path = directory.appendingPathComponent("bad-\(UUID().uuidString).yaml").path
            try Self.write(text, to: path)
            do {
                let configuration = try AuthServerFixture.configuration(
                    databaseURL: fixture.databaseURL, overrides: ["GATEHOUSE_CONFIG": path, "SHORT_SECRET": "short"])
                _ = try buildAuthServer(configuration: configuration, logger: AuthServerFixture.logger)
                Issue.record("accepted: \(text)")
            } catch let error as ConfigurationError {
                #expect(error.description.contains("\(path): \(expected)"), "\(error)")
            }
        }
    }

    @Test("Reading the configuration (as the keys commands do) does not need the clients' secrets")
    func configurationAloneReadsNoSecret() async throws {
        let fixture = try await AuthServerFixture.shared()
        let directory = try Self.scratch()
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try Self.write("clients:\n  - id: a\n    name: A\n    redirect_uris: [\"https://x.example/cb\"]\n    secret_file: /nonexistent/secret\n",
                       to: path)
        let configuration = try AuthServerFixture.configuration(databaseURL: fixture.databaseURL, overrides: ["GATEHOUSE_CONFIG": path])
        #expect(configuration.preregisteredClients.entries.map(\.id) == ["a"])
        #expect(throws: ConfigurationError.self) { try configuration.preregisteredClients.resolve() }
    }

    @Test("secret_env reads the secret from the environment; a client_id of another kind stops the start")
    func secretFromEnvironmentAndTakenID() async throws {
        let directory = try Self.scratch()
        let id = "env-client-\(UUID().uuidString.prefix(8).lowercased())"
        let secret = SecureRandom.token()
        let configPath = directory.appendingPathComponent("gatehouse.yaml").path
        try Self.write("""
            clients:
              - id: \(id)
                name: Env
                redirect_uris: ["http://127.0.0.1/callback"]
                secret_env: PREREG_TEST_SECRET
            """, to: configPath)
        try await TestAuthServer.run(overrides: ["GATEHOUSE_CONFIG": configPath, "PREREG_TEST_SECRET": secret]) { server in
            let stored = try #require(try await server.environment.clients.stored(id))
            #expect(stored.client.secretHash == Digest.sha256(secret) && stored.client.applicationType == "native")
        }

        // A dynamically registered client holds the id: the start fails, naming it.
        // (A registered id may start with - or _, which a clients: id may not: take one that can be named.)
        let taken: String = try await TestAuthServer.run { server in
            for _ in 0..<50 {
                let id = try await server.registerClient().id
                if PreregisteredClientConfiguration.isValidID(id) { return id }
            }
            throw TestSetupError("no registered id starts with a letter or digit")
        }
        try Self.write("""
            clients:
              - id: \(taken)
                name: Taken
                redirect_uris: ["https://x.example/cb"]
                public: true
            """, to: configPath)
        do {
            _ = try await TestAuthServer.run(overrides: ["GATEHOUSE_CONFIG": configPath]) { _ in
                Issue.record("started although a dynamic client holds \(taken)")
            }
        } catch let error as ConfigurationError {
            #expect(error.description.contains("clients: client_id \"\(taken)\" belongs to a client of kind dynamic"), "\(error)")
        }
        let kind = try await TestAuthServer.run { server in
            try await server.environment.clients.stored(taken)?.client.registrationKind
        }
        #expect(kind == "dynamic")
    }
}
