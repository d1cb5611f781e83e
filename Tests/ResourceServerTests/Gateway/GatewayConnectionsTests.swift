import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared
import Testing
import TestSupport
@testable import ResourceServer

/// Issue 12, "Connections": what the gateway hands an upstream, and what a call without the
/// connection gets.
@Suite("Gateway connections")
struct GatewayConnectionsTests {
    static let crm = ConnectionConfiguration(
        id: "crm", name: "Acme CRM", authorizationEndpoint: "https://crm.example/authorize",
        tokenEndpoint: "https://crm.example/token", clientID: "gatehouse", secret: .environment("CRM_SECRET"))

    /// The user's token reaches the upstream in X-Gatehouse-Connection-crm, and only that one:
    /// the client's forged header and its bearer token are gone.
    @Test func theUpstreamGetsTheUsersTokenAndNeverTheClients() async throws {
        let upstreamServer = try await LocalServer.start { _, _, _ in
            HTTPUpstreamTests.json(#"{"jsonrpc":"2.0","id":1,"result":{}}"#)
        }
        let upstream = HTTPUpstreamTests.upstream(upstreamServer.url)
        let gateway = try await LocalServer.start { request, body, context in
            var headers = HTTPFields()
            for field in request.headers where GatewayEndpoint.forwardedHeaders.contains(field.name.canonicalName) {
                headers.append(field)
            }
            var forwarded = UpstreamRequest(
                method: request.method, headers: headers, body: body,
                identity: VerifiedIdentity(subject: "s", clientID: "c", scopes: .init(""), tokenID: "j"),
                accessToken: "client-token", requestID: context.id)
            forwarded.connectionTokens = [ConnectionToken(connectionID: "crm", value: "users-crm-token")]
            return try await upstream.handle(forwarded, context: context)
        }
        let result = await HTTPUpstreamTests.attempt {
            try await HTTPUpstreamTests.send(gateway, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}"#,
                                             headers: [("X-Gatehouse-Connection-crm", "forged"), ("Authorization", "Bearer client-token")])
        }
        await gateway.stop(); await upstreamServer.stop(); await upstream.shutdown()
        #expect(try result.get().status == 200)
        let received = try #require(upstreamServer.requests.first)
        #expect(received.headers[values: HTTPField.Name("X-Gatehouse-Connection-crm")!] == ["users-crm-token"])
        #expect(received.headers[.authorization] == nil)
        #expect(!received.headers.contains { $0.value.contains("client-token") })
    }

    @Test func aStdioChildGetsTheTokenInItsEnvironment() {
        let environment = StdioProcessPool.childEnvironment(
            base: [:], configured: ["GATEHOUSE_CONNECTION_CRM_TOKEN": "from-config"], identity: (subject: "u1", username: "alice"),
            connections: [ConnectionToken(connectionID: "crm", value: "users-crm-token")])
        #expect(environment["GATEHOUSE_CONNECTION_CRM_TOKEN"] == "users-crm-token")
        #expect(StdioProcessPool.fingerprint([ConnectionToken(connectionID: "crm", value: "a")])
                != StdioProcessPool.fingerprint([ConnectionToken(connectionID: "crm", value: "b")]))
        #expect(!"\(ConnectionToken(connectionID: "crm", value: "users-crm-token"))".contains("users-crm-token"))
    }

    /// No connection yet: a tool error carrying the connect link; connected: the token.
    @Test func aMissingConnectionIsAToolErrorWithTheConnectLink() async throws {
        try await TestDatabase.withDatabase { database in
            let user = UUID()
            _ = try await database.query("""
                INSERT INTO users (id, username, password_hash) VALUES (\(user), \(TestDatabase.uniqueName("gwconn")), 'x')
                """)
            let store = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: .generate()))
            let connections = GatewayConnections(
                connections: [Self.crm], clients: ["crm": ConnectionTokenClient(connection: Self.crm, clientSecret: "s", clock: .system)],
                store: store, issuer: "http://127.0.0.1:9000", clock: .system)
            guard case .needed(let needed, _) = try await connections.resolve(subject: user.uuidString.lowercased(), logger: TestDatabase.logger) else {
                Issue.record("a user without the connection needs it")
                return
            }
            #expect(needed.map(\.id) == ["crm"])
            #expect(connections.toolError(idJSON: "7", needed: needed).status == .ok)
            let body = connections.toolErrorBody(idJSON: "7", needed: needed)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
            #expect(object["id"] as? Int == 7)
            let result = try #require(object["result"] as? [String: Any])
            #expect(result["isError"] as? Bool == true)
            let text = try #require((result["content"] as? [[String: Any]])?.first?["text"] as? String)
            #expect(text.contains("http://127.0.0.1:9000/connections/crm/connect"))
            #expect(text.contains("Acme CRM"))

            try await store.save(userID: user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "users-crm-token", refreshToken: nil, expiresAt: nil, scopes: ""), now: Date())
            guard case .tokens(let tokens) = try await connections.resolve(subject: user.uuidString, logger: TestDatabase.logger) else {
                Issue.record("a connected user gets the token")
                return
            }
            #expect(tokens == [ConnectionToken(connectionID: "crm", value: "users-crm-token")])
        }
    }
}

