import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import TestSupport
import Testing
@testable import ResourceServer

/// MCP transports (2025-11-25, Security Warning): "Servers MUST validate the Origin header on all
/// incoming connections to prevent DNS rebinding attacks". Issue 9 C.5: every path spelling the
/// router sends to the MCP handler gets the check, and a loopback-bound server refuses a `Host`
/// that is not loopback (or the resource's own host).
@Suite("Origin on every MCP path, Host when bound to loopback")
struct OriginAndHostTests {
    static let origin = HTTPField.Name("Origin")!
    static let variants = ["/mcp", "/mcp/", "//mcp", "/mcp//", "//mcp//"]

    @Test("a foreign Origin is 403 on every path variant of /mcp, preflight included; no Origin still works")
    func originOnEveryVariant() async throws {
        try await withServer { client, token, _ in
            let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
            for path in Self.variants {
                let evil = try await client.post(body: body, token: token, headers: [Self.origin: "https://evil.example"], path: path)
                #expect(evil.status == .forbidden, "\(path)")
                #expect(evil.errorCode == -32600, "\(path)")
                #expect(evil.headers[.accessControlAllowOrigin] == nil, "\(path)")
                let preflight = try await client.send(.options, path, headers: [Self.origin: "https://evil.example"])
                #expect(preflight.status == .forbidden, "\(path)")
                let get = try await client.send(.get, path, headers: [Self.origin: "https://evil.example"])
                #expect(get.status == .forbidden, "\(path)")
                let allowed = try await client.post(body: body, token: token, headers: [Self.origin: "http://localhost:6274"], path: path)
                #expect(allowed.status == .ok, "\(path)")
                #expect(allowed.headers[.accessControlAllowOrigin] == "http://localhost:6274", "\(path)")
                #expect(try await client.post(body: body, token: token, path: path).status == .ok, "\(path)")
            }
        }
    }

    @Test("bound to loopback: a Host that is not loopback nor the resource host is 403 with a JSON body")
    func dnsRebinding() async throws {
        try await withServer { client, token, port in
            let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
            for host in ["evil.example:\(port)", "evil.example", "127.0.0.1.nip.io:\(port)", "127.attacker.example", "localhost.evil.example"] {
                for path in ["/mcp", "/mcp/", "/.well-known/oauth-protected-resource/mcp"] {
                    let reply = try await Self.raw(port: port, path: path, authority: host, token: token, body: body)
                    #expect(reply.status == .forbidden, "\(host) \(path)")
                    #expect(reply.headers[.contentType] == "application/json", "\(host) \(path)")
                    let json = try JSONSerialization.jsonObject(with: Data(buffer: reply.body ?? ByteBuffer())) as? [String: Any]
                    #expect((json?["error"] as? [String: Any])?["code"] as? Int == -32600, "\(host) \(path)")
                }
            }
            for host in ["localhost:\(port)", "LOCALHOST", "127.0.0.1:\(port)", "127.1.2.3", "[::1]:\(port)", "localhost:8000"] {
                let reply = try await Self.raw(port: port, path: "/mcp", authority: host, token: token, body: body)
                #expect(reply.status == .ok, "\(host)")
            }
        }
    }

    @Test("bound to loopback behind a proxy: the resource's own host is accepted")
    func resourceHostAccepted() async throws {
        let overrides = ["GATEHOUSE_MCP_RESOURCE": "https://mcp.example.com/mcp"]
        try await withServer(overrides: overrides, audience: "https://mcp.example.com/mcp") { _, token, port in
            let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
            let own = try await Self.raw(port: port, path: "/mcp", authority: "mcp.example.com", token: token, body: body)
            #expect(own.status == .ok)
            let other = try await Self.raw(port: port, path: "/mcp", authority: "other.example.com", token: token, body: body)
            #expect(other.status == .forbidden)
        }
    }

    /// One request with an arbitrary `Host`, which the harness's client always sets to localhost.
    static func raw(port: Int, path: String, authority: String, token: String, body: String) async throws -> TestClient.Response {
        var headers = MCPTestClient.standardHeaders
        headers[.authorization] = "Bearer \(token)"
        let request = TestClient.Request(path, method: .post, authority: authority, headers: headers, body: ByteBuffer(string: body))
        return try await TestClient.withClient(host: "127.0.0.1", port: port) { try await $0.execute(request) }
    }

    private func withServer(overrides: [String: String] = [:], audience: String = ResourceServerHarness.resource,
                            _ body: @escaping @Sendable (MCPTestClient, String, Int) async throws -> Void) async throws {
        let clock = TestClock()
        try await StandInAuthorizationServer.withRunning { authorizationServer in
            var minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            minter.audience = .one(audience)
            let token = minter.token()
            try await ResourceServerHarness.withServer(authorizationServer: authorizationServer, clock: clock,
                                                       overrides: overrides) { client in
                let port = try #require(client.client.port)
                try await body(client, token, port)
            }
        }
    }
}
