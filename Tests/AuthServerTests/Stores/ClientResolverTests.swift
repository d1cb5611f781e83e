import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// How `ClientResolver` caches client ID metadata documents (draft §4.4): `max-age` honoured
/// within [5 min, 24 h], a stale copy used for up to 24 h while the client's host is down, and
/// a broken document refusing the client at the token endpoint too.
@Suite(.serialized) struct ClientResolverTests {
    static func authorize(_ server: TestAuthServer, _ id: String) async throws -> Reply {
        var browser = Browser(server)
        return try await browser.authorize(server.authorizeParameters(ClientMetadataDocumentFlowTests.client(id), PKCE()))
    }

    @Test("draft §4.4: within max-age the document is not fetched again; after it, it is")
    func honoursMaxAge() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let id = try docs.publishClient(path, cacheControl: "public, max-age=600")
            #expect(try await Self.authorize(server, id).isLoginPage)
            #expect(try await Self.authorize(server, id).isLoginPage)
            #expect(docs.requests(path) == 1)
            server.clock.advance(seconds: 590)
            #expect(try await Self.authorize(server, id).isLoginPage)
            #expect(docs.requests(path) == 1)
            server.clock.advance(seconds: 20)
            #expect(try await Self.authorize(server, id).isLoginPage)
            #expect(docs.requests(path) == 2)
        }
    }

    @Test("max-age below 5 minutes, no-store and no header at all are clamped to the lower bound or the 1 h default")
    func lifetimeBounds() async throws {
        #expect(ClientResolver.lifetime(maxAge: 10) == 300)
        #expect(ClientResolver.lifetime(maxAge: 0) == 300)
        #expect(ClientResolver.lifetime(maxAge: nil) == 3600)
        #expect(ClientResolver.lifetime(maxAge: 7 * 86400) == 86400)
        #expect(ClientMetadataFetcher.maxAge("no-store") == 0)
        #expect(ClientMetadataFetcher.maxAge("public, max-age=\"120\"") == 120)
        #expect(ClientMetadataFetcher.maxAge("private, MAX-AGE=90, must-revalidate") == 90)
        #expect(ClientMetadataFetcher.maxAge("public, =, ,") == nil)
        #expect(ClientMetadataFetcher.maxAge(nil) == nil)
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let id = try docs.publishClient(path, cacheControl: "no-store")
            #expect(try await Self.authorize(server, id).isLoginPage)
            server.clock.advance(seconds: 120)
            #expect(try await Self.authorize(server, id).isLoginPage)
            #expect(docs.requests(path) == 1, "no-store still caches for the 5-minute minimum")
            server.clock.advance(seconds: 200)
            #expect(try await Self.authorize(server, id).isLoginPage)
            #expect(docs.requests(path) == 2)
        }
    }

    @Test("The client's host down: a fresh copy is used, a stale one for up to 24 h, then the client is refused")
    func hostDown() async throws {
        // The document server lives inside this test, not around it: it stops half-way.
        try await TestAuthServer.run(overrides: DocumentFetching.loopbackAllowed.overrides) { server in
            let id = try await DocumentServer.run { docs in
                let id = try docs.publishClient(docs.uniquePath(), cacheControl: "max-age=600")
                #expect(try await Self.authorize(server, id).isLoginPage)
                return id
            }
            // The document server has stopped.
            #expect(try await Self.authorize(server, id).isLoginPage, "fresh copy")
            server.clock.advance(seconds: 3600)
            let started = Date()
            #expect(try await Self.authorize(server, id).isLoginPage, "stale copy, host unreachable: still usable")
            #expect(Date().timeIntervalSince(started) < 2, "a refused connection fails at once, without retries")
            server.clock.advance(seconds: 30)
            #expect(try await Self.authorize(server, id).isLoginPage, "within the retry delay, no fetch is attempted")
            server.clock.advance(seconds: 23 * 3600)
            let refused = try await Self.authorize(server, id)
            AuthorizeEndpointTests.expectErrorPage(refused)
            #expect(refused.body.contains("could not be fetched"))
        }
    }

    @Test("A document changed to something invalid refuses the client at /token with 401 invalid_client")
    func brokenDocumentAtTokenEndpoint() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let client = ClientMetadataDocumentFlowTests.client(try docs.publishClient(path))
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            docs.publish(path, .init(body: #"{"client_id":"https://elsewhere.example/c.json"}"#))
            server.clock.advance(seconds: 601)
            let reply = try await server.refresh(tokens.refreshToken, client: client)
            #expect(reply.status == .unauthorized && reply.error == "invalid_client", "\(reply.body)")
            #expect(docs.requests(path) == 2)
        }
    }

    @Test("A changed document is picked up after max-age: a new redirect URI works, a removed one no longer does")
    func changedDocument() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let id = try docs.publishClient(path, redirectURIs: ["https://one.example/cb"])
            var browser = Browser(server)
            let client = RegisteredClient(id: id, secret: nil, redirectURI: "https://two.example/cb", authMethod: "none")
            AuthorizeEndpointTests.expectErrorPage(try await browser.authorize(server.authorizeParameters(client, PKCE())))
            try docs.publishClient(path, redirectURIs: ["https://two.example/cb"])
            server.clock.advance(seconds: 601)
            #expect(try await browser.authorize(server.authorizeParameters(client, PKCE())).isLoginPage)
            let old = RegisteredClient(id: id, secret: nil, redirectURI: "https://one.example/cb", authMethod: "none")
            AuthorizeEndpointTests.expectErrorPage(try await browser.authorize(server.authorizeParameters(old, PKCE())))
        }
    }

    @Test("Deleting a metadata-document client revokes its tokens; its next use fetches again and asks for consent again")
    func deletedIsFetchedAgain() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            // An https redirect URI: only those keep remembered consent (RFC 8252 §8.6).
            let redirect = "https://app.example.com/callback"
            let client = RegisteredClient(id: try docs.publishClient(path, redirectURIs: [redirect]), secret: nil,
                                          redirectURI: redirect, authMethod: "none")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            // Remembered consent: the same browser gets a code straight away.
            let again = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(again.status == .seeOther && again.redirectParameters["code"] != nil)
            #expect(try await server.environment.clients.delete(client.id))
            #expect(try await server.refresh(tokens.refreshToken, client: client).error == "invalid_grant")

            let reply = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(reply.isConsentPage, "the deleted client's consent is forgotten")
            #expect(docs.requests(path) == 2, "a deleted copy is never used")
            let listed = try await server.environment.clients.list().contains { $0.clientID == client.id }
            #expect(listed)
        }
    }
}
