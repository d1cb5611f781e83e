import Foundation
import MCP
import Testing
@testable import ResourceServer

/// The SDK's `handleRequest` can wait forever for an answer that never comes; the per-request
/// timeout must still answer (found by schemathesis, docs/testing.md).
@Suite("MCP request timeout")
struct SessionlessTimeoutTests {
    @Test("a message the SDK never answers gets a 504 at the timeout, not a request that never ends")
    func unansweredMessageTimesOut() async throws {
        // A method and a result at once: the SDK takes it for a response to a request it never sent
        // and waits. `JSONRPCEnvelope` refuses it before it gets here; this goes to the server directly.
        var server = MCPSessionlessServer(name: "t", title: "t", version: "1", tools: ToolCatalog(tools: [.whoami]))
        server.timeout = .milliseconds(500)
        let started = ContinuousClock.now
        let response = try await server.handle(
            MCP.HTTPRequest(method: "POST", headers: ["content-type": "application/json", "accept": "application/json"],
                            body: Data(#"{"jsonrpc":"2.0","id":"a","method":"x","result":{}}"#.utf8), path: "/mcp"),
            as: VerifiedIdentity(subject: "s", clientID: "c", scopes: .init(tokens: []), tokenID: "j"),
            logger: ResourceServerHarness.logger)
        #expect(response.statusCode == 504)
        #expect(ContinuousClock.now - started < .seconds(10))
    }
}
