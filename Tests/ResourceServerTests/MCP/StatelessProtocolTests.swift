import Foundation
import TestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ResourceServer

/// MCP 2026-07-28, the stateless revision, for the built-in tools over real HTTP: `server/discover`,
/// `resultType`, the routing headers that must mirror the body (basic/transports, HeaderMismatch
/// -32020), UnsupportedProtocolVersion (-32022), and the 2025 revisions unchanged beside it. The
/// expected codes and statuses are those of the official Python SDK 2.3.0 (`mcp/shared/inbound.py`).
@Suite("MCP 2026-07-28 (stateless)")
struct StatelessProtocolTests {
    static let version = HTTPField.Name("MCP-Protocol-Version")!

    @Test("server/discover: resultType complete, supportedVersions, capabilities, serverInfo and cache hints; no session")
    func discover() async throws {
        try await withServer { client, token in
            let reply = try await client.modern("server/discover", token: token)
            #expect(reply.status == .ok)
            let result = try #require(reply.result)
            #expect(result["resultType"] as? String == "complete")
            #expect(result["supportedVersions"] as? [String] == ["2026-07-28"])
            #expect(((result["capabilities"] as? [String: Any])?["tools"] as? [String: Any])?["listChanged"] as? Bool == false)
            #expect(result["cacheScope"] as? String == "public")
            #expect(result["ttlMs"] as? Int == StatelessResultStamp.cacheTTLMilliseconds)
            let info = (result["_meta"] as? [String: Any])?["io.modelcontextprotocol/serverInfo"] as? [String: Any]
            #expect(info?["name"] as? String == "gatehouse-notes")
            #expect(info?["version"] as? String == "1.0.0")
            #expect(reply.headers[HTTPField.Name("Mcp-Session-Id")!] == nil)
            #expect(reply.headers[.contentType] == "application/json")
        }
    }

    @Test("tools/list and tools/call with 2026-07-28 framing: the 2025 answer plus resultType and serverInfo")
    func toolsListAndCall() async throws {
        try await withServer { client, token in
            let modern = try await client.modern("tools/list", token: token)
            #expect(modern.status == .ok)
            let result = try #require(modern.result)
            #expect(result["resultType"] as? String == "complete")
            #expect(result["cacheScope"] as? String == "public")
            #expect(result["ttlMs"] as? Int == StatelessResultStamp.cacheTTLMilliseconds)
            let legacy = try await client.request("tools/list", token: token)
            #expect(legacy.result?["resultType"] == nil && legacy.result?["ttlMs"] == nil)
            #expect(try Self.canonical(result["tools"]) == Self.canonical(legacy.result?["tools"]))

            let whoami = try await client.modern("tools/call", ["name": "whoami", "arguments": [String: Any]()], token: token)
            #expect(whoami.status == .ok)
            #expect(whoami.result?["resultType"] as? String == "complete")
            #expect(whoami.toolOutput["subject"] as? String == "alice")
            #expect((whoami.result?["_meta"] as? [String: Any])?["io.modelcontextprotocol/serverInfo"] != nil)

            let text = "stateless \(UUID().uuidString)"
            let added = try await client.modern("tools/call", ["name": "notes_add", "arguments": ["text": text]], token: token)
            #expect(added.status == .ok && !added.isToolError && added.toolOutput["text"] as? String == text)
            // A bad argument is still a tool result the model can read, not a protocol error.
            let bad = try await client.modern("tools/call", ["name": "notes_add", "arguments": ["txt": "x"]], token: token)
            #expect(bad.status == .ok && bad.isToolError && bad.result?["resultType"] as? String == "complete")
            // An unknown tool is the SDK's -32602, with the status 2026-07-28 gives that code.
            let unknown = try await client.modern("tools/call", ["name": "nope", "arguments": [String: Any]()], token: token)
            #expect(unknown.status == .badRequest)
            #expect(unknown.errorCode == -32602)
        }
    }

    @Test("a header that disagrees with the body is 400 HeaderMismatch (-32020) with the request's id")
    func headerMismatch() async throws {
        try await withServer { client, token in
            let call: [String: Any] = ["name": "whoami", "arguments": [String: Any]()]
            let cases: [(String, [String: Any], [String: String?])] = [
                ("tools/list", [:], ["Mcp-Method": "tools/call"]),
                ("tools/call", call, ["Mcp-Name": "notes_list"]),
                ("tools/call", call, ["Mcp-Name": "=?base64?!!!?="]),
                ("tools/list", [:], ["MCP-Protocol-Version": "2025-11-25"]),
            ]
            for (method, params, headers) in cases {
                let reply = try await client.modern(method, params, token: token, id: 77, headers: headers)
                #expect(reply.status == .badRequest, "\(headers)")
                #expect(reply.errorCode == -32020, "\(headers)")
                #expect(reply.json["id"] as? Int == 77, "\(headers)")
            }
            // A routing header sent twice is refused too: first-copy and last-copy readers would disagree.
            let twice = try await client.modern("tools/call", call, token: token, duplicate: HTTPField(name: .mcpName, value: "whoami"))
            #expect(twice.status == .badRequest && twice.errorCode == -32020)
            // The base64 sentinel for a value that is not plain ASCII decodes and matches.
            let encoded = "=?base64?" + Data("whoami".utf8).base64EncodedString() + "?="
            let sentinel = try await client.modern("tools/call", call, token: token, headers: ["Mcp-Name": encoded])
            #expect(sentinel.status == .ok && sentinel.toolOutput["subject"] as? String == "alice")
        }
    }

    @Test("missing routing headers or envelope keys are refused (-32020, -32602), after authentication")
    func missingHeaders() async throws {
        try await withServer { client, token in
            let call: [String: Any] = ["name": "whoami", "arguments": [String: Any]()]
            for (method, params, dropped) in [("tools/list", [String: Any](), "Mcp-Method"), ("tools/call", call, "Mcp-Name"),
                                              ("tools/list", [:], "MCP-Protocol-Version")] {
                let reply = try await client.modern(method, params, token: token, headers: [dropped: nil])
                #expect(reply.status == .badRequest, "\(dropped)")
                #expect(reply.errorCode == -32020, "\(dropped)")
            }
            let noMeta = try await client.modern("tools/list", token: token, meta: nil)
            #expect(noMeta.status == .badRequest && noMeta.errorCode == -32602)
            let noCapabilities = try await client.modern("tools/list", token: token,
                                                         meta: ["io.modelcontextprotocol/protocolVersion": "2026-07-28"])
            #expect(noCapabilities.status == .badRequest && noCapabilities.errorCode == -32602)
            #expect(noCapabilities.body.contains("io.modelcontextprotocol/clientCapabilities"))
            // The bearer token is checked before the body: no token is a 401 whatever the headers say.
            let anonymous = try await client.modern("tools/call", call, token: nil, headers: ["Mcp-Name": "other"])
            #expect(anonymous.status == .unauthorized && anonymous.challenge != nil)
        }
    }

    @Test("an unsupported version is 400 UnsupportedProtocolVersion (-32022) naming what is served")
    func unsupportedVersion() async throws {
        try await withServer { client, token in
            // In the header: refused before authentication, as every unsupported version is.
            for token in [token, nil] {
                let future = try await client.modern("tools/list", token: token, headers: ["MCP-Protocol-Version": "2027-01-01"])
                #expect(future.status == .badRequest)
                #expect(future.errorCode == -32022)
                let data = (future.json["error"] as? [String: Any])?["data"] as? [String: Any]
                #expect(data?["requested"] as? String == "2027-01-01")
                #expect(data?["supported"] as? [String] == ["2025-06-18", "2025-11-25", "2026-07-28"])
            }
            // A 2025 version inside the per-request envelope: not a stateless revision.
            let meta: [String: Any] = ["io.modelcontextprotocol/protocolVersion": "2025-11-25",
                                       "io.modelcontextprotocol/clientCapabilities": [String: Any]()]
            let old = try await client.modern("tools/list", token: token, meta: meta, headers: ["MCP-Protocol-Version": "2025-11-25"])
            #expect(old.status == .badRequest && old.errorCode == -32022)
            #expect(((old.json["error"] as? [String: Any])?["data"] as? [String: Any])?["supported"] as? [String] == ["2026-07-28"])
            // Retired handshake revisions keep the answer they had.
            let retired = try await client.request("tools/list", token: token, headers: [Self.version: "2024-11-05"])
            #expect(retired.status == .badRequest && retired.errorCode == -32600)
        }
    }

    @Test("2025-06-18 and 2025-11-25 are unchanged: initialize, no resultType, server/discover unknown")
    func handshakeRevisionsUnchanged() async throws {
        try await withServer { client, token in
            for version in ["2025-06-18", "2025-11-25"] {
                let list = try await client.request("tools/list", token: token, headers: [Self.version: version])
                #expect(list.status == .ok)
                #expect(list.result.map { Set($0.keys) } == ["tools"])
                let call = try await client.callTool("whoami", token: token)
                #expect(call.status == .ok && call.result?["resultType"] == nil && call.result?["_meta"] == nil)
                let discover = try await client.request("server/discover", token: token, headers: [Self.version: version])
                #expect(discover.status == .ok && discover.errorCode == -32601)
                let initialize = try await client.request("initialize", params: [
                    "protocolVersion": version, "capabilities": [String: Any](), "clientInfo": ["name": "t", "version": "1"],
                ], token: token, headers: [Self.version: version])
                #expect(initialize.result?["protocolVersion"] as? String == version)
            }
        }
    }

    @Test("2026-07-28 removed initialize and ping (404 -32601); notifications 202; responses 400; GET 405")
    func removedMethods() async throws {
        try await withServer { client, token in
            for method in ["initialize", "ping", "resources/list"] {
                let reply = try await client.modern(method, token: token)
                #expect(reply.status == .notFound, "\(method)")
                #expect(reply.errorCode == -32601, "\(method)")
            }
            let notification = try await client.modern("notifications/cancelled", token: token, id: nil)
            #expect(notification.status == .accepted)
            let response = try await client.post(body: #"{"jsonrpc":"2.0","id":3,"result":{}}"#, token: token,
                                                 headers: [Self.version: "2026-07-28"])
            #expect(response.status == .badRequest && response.errorCode == -32600)
            let get = try await client.send(.get, "/mcp", headers: [.accept: "text/event-stream", Self.version: "2026-07-28"])
            #expect(get.status == .methodNotAllowed)
        }
    }

    @Test("a tools/call without the tool's scope is 403 insufficient_scope on 2026-07-28 too")
    func insufficientScope() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            minter.scope = "notes:read"
            let reply = try await client.modern("tools/call", ["name": "notes_add", "arguments": ["text": "x"]], token: minter.token())
            #expect(reply.status == .forbidden)
            #expect(reply.json["error"] as? String == "insufficient_scope")
            #expect(reply.challenge?.contains(#"error="insufficient_scope", scope="notes:read notes:write""#) == true)
            // The header check runs first: a mismatching Mcp-Name cannot be used to probe scopes.
            let mismatch = try await client.modern("tools/call", ["name": "notes_add", "arguments": ["text": "x"]],
                                                   token: minter.token(), headers: ["Mcp-Name": "whoami"])
            #expect(mismatch.status == .badRequest && mismatch.errorCode == -32020)
        }
    }

    @Test("the base64 header sentinel: verbatim without it, nil when malformed or not canonical")
    func headerValueDecoding() {
        #expect(StatelessRequest.decodeHeaderValue("whoami") == "whoami")
        #expect(StatelessRequest.decodeHeaderValue("=?base64?" + Data("héllo".utf8).base64EncodedString() + "?=") == "héllo")
        #expect(StatelessRequest.decodeHeaderValue("=?base64?!!?=") == nil)
        #expect(StatelessRequest.decodeHeaderValue("=?base64?aGk?=") == nil)  // missing padding
        #expect(StatelessRequest.decodeHeaderValue("=?base64?/w==?=") == nil)  // not UTF-8
        #expect(StatelessRequest.decodeHeaderValue("=?base64?=") == "=?base64?=")
    }

    /// JSON text with sorted keys, to compare two decoded values.
    static func canonical(_ value: Any?) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: try #require(value), options: [.sortedKeys]), as: UTF8.self)
    }

    /// A server with a stand-in AS and a token for alice carrying every scope.
    private func withServer(_ body: @escaping @Sendable (MCPTestClient, String) async throws -> Void) async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            try await body(client, TokenMinter(issuer: authorizationServer.issuer, clock: clock).token())
        }
    }
}

extension MCPTestClient {
    static var modernMeta: [String: Any] {
        ["io.modelcontextprotocol/protocolVersion": "2026-07-28",
         "io.modelcontextprotocol/clientCapabilities": [String: Any](),
         "io.modelcontextprotocol/clientInfo": ["name": "gatehouse-tests", "version": "1"]]
    }

    /// A request framed as a 2026-07-28 client frames it: `_meta` in the params and the routing
    /// headers. `headers` overrides them (nil removes one); `id: nil` sends a notification.
    func modern(_ method: String, _ params: [String: Any] = [:], token: String?, id: Int? = 1,
                meta: [String: Any]? = Self.modernMeta, headers overrides: [String: String?] = [:],
                duplicate: HTTPField? = nil) async throws -> Reply {
        var params = params
        if let meta { params["_meta"] = meta }
        var message: [String: Any] = ["jsonrpc": "2.0", "method": method, "params": params]
        if let id { message["id"] = id }
        var headers: HTTPFields = [.contentType: "application/json", .accept: "application/json, text/event-stream"]
        var routing: [String: String?] = ["MCP-Protocol-Version": "2026-07-28", "Mcp-Method": method]
        if let name = params[StatelessRequest.nameBearingMethods[method] ?? ""] as? String { routing["Mcp-Name"] = name }
        routing.merge(overrides) { $1 }
        for (name, value) in routing { if let value { headers[HTTPField.Name(name)!] = value } }
        if let token { headers[.authorization] = "Bearer \(token)" }
        if let duplicate { headers.append(duplicate) }
        let body = try JSONSerialization.data(withJSONObject: message)
        return Reply(response: try await client.executeRequest(uri: "/mcp", method: .post, headers: headers,
                                                               body: ByteBuffer(bytes: body)))
    }
}
