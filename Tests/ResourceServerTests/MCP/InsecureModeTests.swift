import Foundation
import TestSupport
import Testing
@testable import ResourceServer

/// GATEHOUSE_INSECURE_DISABLE_AUTH exists only so benchmarks can measure MCP without tokens.
@Suite("Insecure benchmark mode")
struct InsecureModeTests {
    @Test("with auth disabled, /mcp runs as the fixed benchmark identity; Origin is still enforced")
    func benchmarkIdentity() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock, overrides: ["GATEHOUSE_INSECURE_DISABLE_AUTH": "true"]) { authorizationServer, client in
            let reply = try await client.callTool("whoami", token: nil)
            #expect(reply.status == .ok)
            #expect(reply.toolOutput["subject"] as? String == "benchmark")
            #expect(reply.toolOutput["scopes"] as? [String] == ["notes:read", "notes:write"])
            let refused = try await client.request("tools/list", token: nil, headers: [TransportSecurityTests.origin: "https://evil.example"])
            #expect(refused.status == .forbidden)
        }
    }
}
