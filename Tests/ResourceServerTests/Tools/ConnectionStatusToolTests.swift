import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import Shared
import Testing
import TestSupport
@testable import ResourceServer

/// Issue 12, "the built-in tools reach it through the verified identity": a built-in resource
/// that names `connections:` lists `connection_status`, and its tools get the caller's token
/// through `VerifiedIdentity.connections` with the gateway's refresh, refusal and link. The real
/// ResourceServer (production builder, a config file, real PostgreSQL) and a loopback token
/// endpoint that records what it was sent.
@Suite("Built-in tools and connections")
struct ConnectionStatusToolTests {
    /// The token endpoint's next answer, and what it received.
    final class Provider: Sendable {
        let answer = NIOLockedValueBox<(status: HTTPResponse.Status, body: String)>(
            (.ok, #"{"access_token":"fresh-access-7f3a","token_type":"Bearer","expires_in":3600,"refresh_token":"fresh-refresh-7f3a","scope":"contacts:read"}"#))
    }

    static func config(tokenEndpoint: String) -> String {
        """
        connections:
          - id: crm
            name: Acme CRM
            authorization_endpoint: \(tokenEndpoint)/authorize
            token_endpoint: \(tokenEndpoint)
            client_id: gatehouse
            client_secret_env: CRM_TEST_SECRET
            allow_insecure_loopback: true
        resources:
          - path: /mcp
            builtin: notes
            connections: [crm]
        """
    }

    struct Context: Sendable {
        let client: MCPTestClient
        let minter: TokenMinter
        let clock: TestClock
        let store: UserConnectionStore
        let provider: Provider
        let tokenEndpoint: LocalServer
        let user: UUID

        func token() -> String {
            var minter = minter
            minter.subject = user.uuidString.lowercased()
            minter.jti = UUID().uuidString
            return minter.token()
        }

        func status() async throws -> MCPTestClient.Reply {
            try await client.callTool("connection_status", token: token())
        }
    }

    /// The real server with the config above, a user row of its own and the provider.
    static func withServer(_ body: @escaping @Sendable (Context) async throws -> Void) async throws {
        let provider = Provider()
        let tokenEndpoint = try await LocalServer.start { _, _, _ in
            let (status, answer) = provider.answer.withLockedValue { $0 }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-rs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try config(tokenEndpoint: tokenEndpoint.url).write(toFile: path, atomically: true, encoding: .utf8)
        let kekBase64 = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let kek = try KeyEncryptionKey(base64: kekBase64)
        let clock = TestClock()
        do {
            try await TestDatabase.withDatabase { database in
                let user = UUID()
                _ = try await database.query("""
                    INSERT INTO users (id, username, password_hash) VALUES (\(user), \(TestDatabase.uniqueName("builtin-conn")), 'x')
                    """)
                let store = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: kek))
                try await StandInAuthorizationServer.withRunning { authorizationServer in
                    let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
                    try await ResourceServerHarness.withServer(
                        authorizationServer: authorizationServer, clock: clock,
                        overrides: ["GATEHOUSE_CONFIG": path, "GATEHOUSE_KEK": kekBase64, "CRM_TEST_SECRET": "crm-client-secret"]
                    ) { client in
                        try await body(Context(client: client, minter: minter, clock: clock, store: store, provider: provider,
                                               tokenEndpoint: tokenEndpoint, user: user))
                    }
                }
            }
        } catch {
            await tokenEndpoint.stop()
            throw error
        }
        await tokenEndpoint.stop()
    }

    @Test("connection_status is listed when the built-in resource names connections")
    func listed() async throws {
        try await Self.withServer { context in
            let list = try await context.client.request("tools/list", token: context.token())
            let names = ((list.result?["tools"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }
            #expect(names.contains("connection_status"), "\(names)")
            #expect(names.contains("whoami"))
        }
    }

    @Test("not connected: a tool error with the connect link, and the provider is not asked")
    func missing() async throws {
        try await Self.withServer { context in
            let reply = try await context.status()
            #expect(reply.status == .ok)
            #expect(reply.isToolError, "\(reply.body)")
            let issuer = context.minter.issuer
            #expect(reply.toolText.contains("Connect your Acme CRM account first: \(issuer)/connections/crm/connect"), "\(reply.toolText)")
            #expect(reply.toolText.contains("is not connected"))
            #expect(context.tokenEndpoint.requests.isEmpty)
        }
    }

    @Test("connected, expiring: refreshed at the provider, then 'connected' without either token in the result")
    func available() async throws {
        try await Self.withServer { context in
            try await context.store.save(userID: context.user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "old-access-91c2", refreshToken: "old-refresh-91c2",
                expiresAt: context.clock.now.addingTimeInterval(30), scopes: "contacts:read"), now: context.clock.now)
            let reply = try await context.status()
            #expect(reply.status == .ok)
            #expect(!reply.isToolError, "\(reply.body)")
            let entries = try #require(reply.toolOutput["connections"] as? [[String: Any]])
            #expect(entries.count == 1)
            #expect(entries.first?["id"] as? String == "crm")
            #expect(entries.first?["status"] as? String == "connected")
            #expect(entries.first?["scopes"] as? [String] == ["contacts:read"])
            for secret in ["old-access-91c2", "old-refresh-91c2", "fresh-access-7f3a", "fresh-refresh-7f3a", "crm-client-secret"] {
                #expect(!reply.body.contains(secret), "\(secret) is in the tool's answer")
            }
            // The refresh went to the provider once, with the old refresh token and our client's credentials.
            let received = try #require(context.tokenEndpoint.requests.first)
            #expect(context.tokenEndpoint.requests.count == 1)
            #expect(received.bodyText.contains("grant_type=refresh_token") && received.bodyText.contains("refresh_token=old-refresh-91c2"))
            #expect(received.headers[.authorization]?.hasPrefix("Basic ") == true)
            // A second call finds the fresh token and asks nobody.
            #expect(!(try await context.status()).isToolError)
            #expect(context.tokenEndpoint.requests.count == 1)
        }
    }

    @Test("broken: the provider refuses the refresh; a tool error with the link, the row marked broken")
    func broken() async throws {
        try await Self.withServer { context in
            context.provider.answer.withLockedValue { $0 = (.badRequest, #"{"error":"invalid_grant","error_description":"revoked"}"#) }
            try await context.store.save(userID: context.user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "dying-access-55d0", refreshToken: "dying-refresh-55d0",
                expiresAt: context.clock.now.addingTimeInterval(-5), scopes: ""), now: context.clock.now)
            let reply = try await context.status()
            #expect(reply.status == .ok)
            #expect(reply.isToolError, "\(reply.body)")
            #expect(reply.toolText.contains("must be connected again"))
            #expect(reply.toolText.contains("\(context.minter.issuer)/connections/crm/connect"))
            #expect(!reply.body.contains("dying-access-55d0") && !reply.body.contains("dying-refresh-55d0"))
            #expect(try await context.store.summaries(userID: context.user).first?.status == .broken)
        }
    }
}

/// The accessor itself, as a built-in tool calls it: the token is there for the tool to use, and
/// a missing or broken connection is `ConnectionNeeded`, which `ToolCatalog` turns into a tool error.
@Suite("CallerConnections")
struct CallerConnectionsTests {
    @Test func theToolGetsTheCurrentTokenOrTheLink() async throws {
        let provider = ConnectionStatusToolTests.Provider()
        let tokenEndpoint = try await LocalServer.start { _, _, _ in
            let (status, answer) = provider.answer.withLockedValue { $0 }
            return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer)))
        }
        let crm = ConnectionConfiguration(id: "crm", name: "Acme CRM", authorizationEndpoint: tokenEndpoint.url,
                                          tokenEndpoint: tokenEndpoint.url, clientID: "gatehouse", secret: .none,
                                          allowInsecureLoopback: true)
        do {
            try await Self.run(crm, provider: provider)
        } catch {
            await tokenEndpoint.stop()
            throw error
        }
        await tokenEndpoint.stop()
    }

    static func run(_ crm: ConnectionConfiguration, provider: ConnectionStatusToolTests.Provider) async throws {
        try await TestDatabase.withDatabase { database in
            let user = UUID()
            _ = try await database.query("""
                INSERT INTO users (id, username, password_hash) VALUES (\(user), \(TestDatabase.uniqueName("caller-conn")), 'x')
                """)
            let store = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: .generate()))
            let resolver = GatewayConnections(
                connections: [crm], clients: ["crm": ConnectionTokenClient(connection: crm, clientSecret: nil, clock: .system)],
                store: store, issuer: "http://127.0.0.1:9000", clock: .system)
            let connections = CallerConnections(resolver, subject: user.uuidString.lowercased(), logger: TestDatabase.logger)
            let missing = await #expect(throws: ConnectionNeeded.self) { try await connections.token(for: "crm") }
            #expect(missing?.message.contains("http://127.0.0.1:9000/connections/crm/connect") == true)
            await #expect(throws: ConnectionNeeded.self) { try await connections.token(for: "other") }

            try await store.save(userID: user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "expired-access", refreshToken: "expired-refresh", expiresAt: Date().addingTimeInterval(-1), scopes: ""),
                now: Date())
            #expect(try await connections.token(for: "crm") == "fresh-access-7f3a")
            #expect(!"\(connections)".contains("fresh-access-7f3a"))

            // Through the catalog: the tool's ConnectionNeeded is an isError result with the link.
            provider.answer.withLockedValue { $0 = (.badRequest, #"{"error":"invalid_grant"}"#) }
            try await store.save(userID: user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "a", refreshToken: "r", expiresAt: Date().addingTimeInterval(-1), scopes: ""), now: Date())
            let usesIt = ToolDefinition(name: "crm_probe", description: "", inputSchema: ToolDefinition.objectSchema([:]),
                                        annotations: .init(), requiredScopes: []) { _, identity in
                ToolResult.error("should not run: \(try await identity.connections.token(for: "crm"))")
            }
            var identity = VerifiedIdentity(subject: user.uuidString.lowercased(), clientID: "c", scopes: ScopeSet(tokens: []), tokenID: "j")
            identity.connections = connections
            let result = try await ToolCatalog(tools: [usesIt]).call(.init(name: "crm_probe", arguments: [:]), as: identity,
                                                                    logger: TestDatabase.logger)
            #expect(result.isError == true)
            guard case .text(let text, _, _) = result.content.first else { Issue.record("no text"); return }
            #expect(text.contains("Connect your Acme CRM account first") && !text.contains("should not run"))
        }
    }
}
