import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// Issue 9 C.13: what a URL client_id can make Gatehouse fetch is bounded. A failed fetch is
/// remembered for a minute, each host has a per-minute budget, and the operator's block list
/// refuses a client (or a whole host) before anything is fetched, also after `clients delete`.
@Suite struct MetadataFetchLimitTests {
    static func tokenRequest(_ server: TestAuthServer, _ clientID: String) async throws -> Reply {
        try await server.postForm("/token", [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", clientID)])
    }

    @Test("A client_id whose document cannot be fetched is fetched once per minute, however often it is used")
    func failedFetchIsRemembered() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let id = docs.origin + path  // nothing published: 404
            for _ in 0..<5 {
                let reply = try await Self.tokenRequest(server, id)
                #expect(reply.status == .unauthorized && reply.error == "invalid_client", "\(reply.body)")
            }
            var browser = Browser(server)
            AuthorizeEndpointTests.expectErrorPage(try await browser.authorize(server.authorizeParameters(
                RegisteredClient(id: id, secret: nil, redirectURI: "http://127.0.0.1:33418/callback", authMethod: "none"), PKCE())))
            #expect(docs.requests(path) == 1)
            server.clock.advance(seconds: 61)
            #expect(try await Self.tokenRequest(server, id).status == .unauthorized)
            #expect(docs.requests(path) == 2, "retried after the minute")
            // Once the document exists and the minute is over, the client works.
            try docs.publishClient(path)
            server.clock.advance(seconds: 61)
            let fixed = try await Self.tokenRequest(server, id)
            #expect(fixed.status == .badRequest && fixed.error == "invalid_grant", "\(fixed.body)")
        }
    }

    @Test("GATEHOUSE_CIMD_FETCHES_PER_HOST_PER_MINUTE: random client_ids on one host cost at most that many fetches")
    func perHostLimit() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_CIMD_FETCHES_PER_HOST_PER_MINUTE": "3"],
                                     documents: .loopbackAllowed) { server, docs in
            for index in 0..<8 {
                let reply = try await Self.tokenRequest(server, docs.origin + "/random-\(index)-\(UUID().uuidString)/client.json")
                #expect(reply.status == .unauthorized && reply.error == "invalid_client", "\(reply.body)")
                if index >= 3 { #expect((reply.json["error_description"] as? String ?? "").contains("too many fetches")) }
            }
            #expect(docs.totalRequests == 3)
            // A valid client on that host waits for the next minute, then works.
            let id = try docs.publishClient(docs.uniquePath())
            #expect(try await Self.tokenRequest(server, id).status == .unauthorized)
            server.clock.advance(seconds: 61)
            #expect(try await Self.tokenRequest(server, id).error == "invalid_grant")
            #expect(docs.totalRequests == 4)
        }
    }

    @Test("`clients block`: refused at /authorize and /token without a fetch, and still after `clients delete`")
    func blockedClient() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let id = try docs.publishClient(path, cacheControl: "max-age=0")
            let client = RegisteredClient(id: id, secret: nil, redirectURI: "http://127.0.0.1:33418/callback", authMethod: "none")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(docs.requests(path) == 1)

            #expect(try await server.environment.clients.block(.clientID(id)))
            let families = try await server.tokenFamilies(of: id)
            let revoked = try await server.revokedTokenFamilies(of: id)
            #expect(families == 1 && revoked == families, "blocking revokes")
            for _ in 0..<2 {
                let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
                AuthorizeEndpointTests.expectErrorPage(page)
                #expect(page.body.contains("blocked"))
                let refresh = try await server.refresh(tokens.refreshToken, client: client)
                #expect(refresh.status == .unauthorized && refresh.error == "invalid_client", "\(refresh.body)")
                // Deleting does not unblock: the next request still fetches nothing.
                _ = try await server.environment.clients.delete(id)
                server.clock.advance(seconds: 600)
            }
            #expect(docs.requests(path) == 1, "a blocked client is never fetched")

            #expect(try await server.environment.clients.unblock(.clientID(id)))
            #expect(try await Self.tokenRequest(server, id).error == "invalid_grant")
            #expect(docs.requests(path) == 2)
        }
    }

    @Test("A blocked host refuses every client_id URL on it, without resolving or fetching")
    func blockedHost() async throws {
        try await TestAuthServer.run { server in
            let host = "blocked-\(UUID().uuidString.prefix(8).lowercased()).example"
            #expect(try await server.environment.clients.block(ClientStore.BlockEntry(parsing: "https://\(host)")))
            for id in ["https://\(host)/client.json", "https://\(host.uppercased()):8443/other/client.json"] {
                let started = Date()
                let reply = try await Self.tokenRequest(server, id)
                #expect(reply.status == .unauthorized && reply.error == "invalid_client", "\(reply.body)")
                #expect((reply.json["error_description"] as? String ?? "").contains("blocked"))
                #expect(Date().timeIntervalSince(started) < 2)
            }
            #expect(try await server.environment.clients.unblock(.host(host)))
        }
    }

    @Test("A block entry is a host for https://host or host.name, and a client_id otherwise")
    func parsingBlockEntries() {
        #expect(ClientStore.BlockEntry(parsing: "https://Evil.Example") == .host("evil.example"))
        #expect(ClientStore.BlockEntry(parsing: "https://evil.example/") == .host("evil.example"))
        #expect(ClientStore.BlockEntry(parsing: "evil.example") == .host("evil.example"))
        #expect(ClientStore.BlockEntry(parsing: "https://evil.example/client.json") == .clientID("https://evil.example/client.json"))
        #expect(ClientStore.BlockEntry(parsing: "Zk3abc_registered-id") == .clientID("Zk3abc_registered-id"))
    }
}
