import Foundation
import TestSupport
import HTTPTypes
import Testing
@testable import ResourceServer

/// MCP Streamable HTTP transport rules (2025-11-25, basic/transports) and the CORS a browser client
/// (MCP Inspector at http://localhost:6274) needs.
@Suite("Transport security and CORS")
struct TransportSecurityTests {
    static let inspector = "http://localhost:6274"
    static let origin = HTTPField.Name("Origin")!

    @Test("preflight is answered 204 without auth, reflecting an allowed origin")
    func preflight() async throws {
        try await withServer { client, _ in
            let reply = try await client.send(.options, "/mcp", headers: [
                Self.origin: Self.inspector,
                .accessControlRequestMethod: "POST",
                .accessControlRequestHeaders: "authorization, content-type, mcp-protocol-version",
            ])
            #expect(reply.status == .noContent)
            #expect(reply.headers[.accessControlAllowOrigin] == Self.inspector)
            #expect(reply.headers[.accessControlAllowMethods] == "GET, POST, DELETE, OPTIONS")
            #expect(reply.headers[.accessControlAllowHeaders]
                    == "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID")
            #expect(reply.headers[.accessControlExposeHeaders] == "WWW-Authenticate, Mcp-Session-Id")
            #expect(reply.headers[.vary] == "Origin")
        }
    }

    @Test("a 401 to a browser exposes WWW-Authenticate")
    func unauthorizedCarriesCORS() async throws {
        try await withServer { client, _ in
            let reply = try await client.request("tools/list", token: nil, headers: [Self.origin: Self.inspector])
            #expect(reply.status == .unauthorized)
            #expect(reply.headers[.accessControlAllowOrigin] == Self.inspector)
            #expect(reply.headers[.accessControlExposeHeaders] == "WWW-Authenticate, Mcp-Session-Id")
            #expect(reply.challenge != nil)
        }
    }

    @Test("an Origin not in the allow list gets 403, preflight included (MCP transports: MUST 403)")
    func foreignOrigin() async throws {
        try await withServer { client, token in
            let post = try await client.request("tools/list", token: token, headers: [Self.origin: "https://evil.example"])
            #expect(post.status == .forbidden)
            #expect(post.errorCode == -32600)
            #expect(post.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await client.send(.options, "/mcp", headers: [Self.origin: "https://evil.example"])
            #expect(preflight.status == .forbidden)
            // Allowed origin and no origin at all both work.
            #expect(try await client.request("tools/list", token: token, headers: [Self.origin: Self.inspector]).status == .ok)
            #expect(try await client.request("tools/list", token: token).status == .ok)
        }
    }

    @Test("an unsupported MCP-Protocol-Version is a 400; both supported versions work")
    func protocolVersion() async throws {
        try await withServer { client, token in
            let version = HTTPField.Name("MCP-Protocol-Version")!
            let old = try await client.request("tools/list", token: token, headers: [version: "2024-11-05"])
            #expect(old.status == .badRequest)
            #expect(old.errorCode == -32600)
            let bogus = try await client.request("tools/list", token: nil, headers: [version: "garbage"])
            #expect(bogus.status == .badRequest)
            for supported in ["2025-06-18", "2025-11-25"] {
                #expect(try await client.request("tools/list", token: token, headers: [version: supported]).status == .ok)
            }
        }
    }

    @Test("GET and DELETE are 405 with Allow (stateless: no SSE stream, no sessions)")
    func methodNotAllowed() async throws {
        try await withServer { client, _ in
            for method in [HTTPRequest.Method.get, .delete] {
                let reply = try await client.send(method, "/mcp", headers: [.accept: "text/event-stream"])
                #expect(reply.status == .methodNotAllowed)
                #expect(reply.headers[.allow] == "POST, OPTIONS")
            }
        }
    }

    @Test("malformed bodies are 400 JSON-RPC errors, never 5xx")
    func malformedBodies() async throws {
        try await withServer { client, token in
            let cases: [(String, Int)] = [
                ("{not json", -32700),
                (#"[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]"#, -32600),
                (#"{"jsonrpc":"1.0","id":1,"method":"tools/list"}"#, -32600),
                (#"{"jsonrpc":"2.0","id":null,"method":"tools/list"}"#, -32600),
                (#"{"jsonrpc":"2.0","id":1.5,"method":"tools/list"}"#, -32600),
                (#"{"jsonrpc":"2.0","id":1,"method":7}"#, -32600),
                (#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}"#, -32600),
                (#"{"jsonrpc":"2.0","id":1}"#, -32600),
                // A method and a result (or error) at once: the SDK took it for a response and the
                // request hung past its 30 s timeout (schemathesis, docs/testing.md).
                (#"{"jsonrpc":"2.0","id":"a","method":"x","result":{}}"#, -32600),
                (#"{"jsonrpc":"2.0","id":1,"method":"tools/list","error":{"code":1,"message":"m"}}"#, -32600),
                (#"{"jsonrpc":"2.0","method":"notifications/initialized","result":{}}"#, -32600),
            ]
            for (body, code) in cases {
                let reply = try await client.post(body: body, token: token)
                #expect(reply.status == .badRequest, "\(body)")
                #expect(reply.errorCode == code, "\(body)")
            }
            let wrongType = try await client.post(body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, token: token,
                                                  headers: [.contentType: "text/plain"])
            #expect(wrongType.status == .unsupportedMediaType)
        }
    }

    @Test("probes like server/discover get a JSON-RPC error, never a 5xx")
    func discoveryProbe() async throws {
        try await withServer { client, token in
            let anonymous = try await client.request("server/discover", token: nil)
            #expect(anonymous.status == .unauthorized)
            let reply = try await client.request("server/discover", token: token)
            #expect(reply.status == .ok)
            #expect(reply.errorCode == -32601)
        }
    }

    @Test("initialize negotiates a supported version on a fresh per-request server; notifications are 202")
    func initialize() async throws {
        try await withServer { client, token in
            for (requested, expected) in [("2025-06-18", "2025-06-18"), ("2025-11-25", "2025-11-25"), ("2024-11-05", "2025-11-25")] {
                let reply = try await client.request("initialize", params: [
                    "protocolVersion": requested, "capabilities": [String: Any](),
                    "clientInfo": ["name": "test", "version": "1"],
                ], token: token)
                #expect(reply.status == .ok)
                #expect(reply.result?["protocolVersion"] as? String == expected)
                #expect(reply.headers[HTTPField.Name("Mcp-Session-Id")!] == nil)
            }
            let initialized = try await client.post(body: #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, token: token)
            #expect(initialized.status == .accepted)
        }
    }

    @Test("two clients using the same JSON-RPC id at once each get their own answer")
    func concurrentSameID() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var alice = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            alice.subject = "alice-\(UUID().uuidString)"
            var bob = alice
            bob.subject = "bob-\(UUID().uuidString)"
            bob.jti = UUID().uuidString
            let tokens = [alice.token(), bob.token()]
            let subjects = [alice.subject, bob.subject]
            let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}"#
            try await withThrowingTaskGroup(of: Void.self) { group in
                for round in 0..<10 {
                    let token = tokens[round % 2]
                    let subject = subjects[round % 2]
                    group.addTask {
                        let reply = try await client.post(body: body, token: token)
                        #expect(reply.toolOutput["subject"] as? String == subject)
                    }
                }
                try await group.waitForAll()
            }
        }
    }

    /// A server with a stand-in AS and a token carrying every scope.
    private func withServer(_ body: @escaping @Sendable (MCPTestClient, String) async throws -> Void) async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let token = TokenMinter(issuer: authorizationServer.issuer, clock: clock).token()
            try await body(client, token)
        }
    }
}
