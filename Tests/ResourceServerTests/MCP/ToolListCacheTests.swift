import Foundation
import TestSupport
import HTTPTypes
import MCP
import Testing
@testable import ResourceServer

/// The cached `tools/list` must be indistinguishable from the SDK's own answer but for speed.
@Suite("tools/list cache")
struct ToolListCacheTests {
    @Test("the cached answer equals the SDK's, with each request's own id (integer and string)")
    func sameAnswerAsTheSDK() async throws {
        let catalog = ToolCatalog(tools: [.whoami])
        let server = MCPSessionlessServer(name: "t", title: "t", version: "1", tools: catalog)
        let direct = try await server.handle(
            MCP.HTTPRequest(method: "POST", headers: ["content-type": "application/json", "accept": "application/json"],
                            body: Data(#"{"jsonrpc":"2.0","id":41,"method":"tools/list"}"#.utf8), path: "/mcp"),
            as: VerifiedIdentity(subject: "s", clientID: "c", scopes: .init(tokens: []), tokenID: "j"),
            logger: ResourceServerHarness.logger)
        let cache = ToolListCache(server: server)
        for id in ["41", #""abc-\"quoted\"""#] {
            let cached = try #require(await cache.response(idJSON: id, logger: ResourceServerHarness.logger))
            let mine = try JSONSerialization.jsonObject(with: try #require(cached.bodyData)) as? NSDictionary
            let theirs = try JSONSerialization.jsonObject(with: try #require(direct.bodyData)) as? NSDictionary
            #expect(mine?["result"] as? NSDictionary == theirs?["result"] as? NSDictionary)
            let expectedID = try JSONSerialization.jsonObject(with: Data(id.utf8), options: .fragmentsAllowed) as? NSObject
            #expect(mine?["id"] as? NSObject == expectedID)
            #expect(cached.headers["Content-Type"] ?? cached.headers["content-type"] == direct.headers["Content-Type"] ?? direct.headers["content-type"])
        }
    }

    @Test("over HTTP: ids echo back, a wrong Accept still gets the SDK's 406, a cursor goes to the SDK")
    func overHTTP() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock, overrides: ["GATEHOUSE_INSECURE_DISABLE_AUTH": "true"]) { authorizationServer, client in
            let first = try await client.post(body: #"{"jsonrpc":"2.0","id":"x-1","method":"tools/list"}"#, token: nil)
            #expect(first.status == .ok && first.json["id"] as? String == "x-1")
            #expect((first.result?["tools"] as? [Any])?.count == 5)
            let second = try await client.post(body: #"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#, token: nil)
            #expect(second.json["id"] as? Int == 7 && second.result?["tools"] != nil)
            let notAcceptable = try await client.post(
                body: #"{"jsonrpc":"2.0","id":8,"method":"tools/list"}"#, token: nil, headers: [.accept: "text/html"])
            #expect(notAcceptable.status == .notAcceptable)
            let paged = try await client.post(
                body: #"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"cursor":"next"}}"#, token: nil)
            #expect(paged.status == .ok && paged.json["id"] as? Int == 9)
        }
    }
}
