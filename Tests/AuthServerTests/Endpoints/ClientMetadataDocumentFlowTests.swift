import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// Clients identified by a client ID metadata document URL, end to end: the document is served by
/// a real HTTP server on 127.0.0.1 (allowed by GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK), the
/// authorization server fetches it, and the client signs a person in without registering.
@Suite(.serialized) struct ClientMetadataDocumentFlowTests {
    static let redirect = "http://127.0.0.1:33418/callback"

    static func client(_ id: String) -> RegisteredClient {
        RegisteredClient(id: id, secret: nil, redirectURI: redirect, authMethod: "none")
    }

    @Test("MCP 2025-11-25: a URL client_id signs in without registration: authorize, login, consent, code, token, refresh")
    func fullFlow() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let client = Self.client(try docs.publishClient(path))
            var browser = Browser(server)
            let pkce = PKCE()
            let login = try await browser.authorize(server.authorizeParameters(client, pkce))
            #expect(login.isLoginPage && login.body.contains("Document Client"))
            let consent = try await browser.login(from: login)
            #expect(consent.isConsentPage)
            // The client_id's host is what the document proves, and is shown as such.
            #expect(consent.body.contains("Client identity verified: <code>127.0.0.1:\(docs.port)</code>"))
            #expect(!consent.body.contains("registered itself"))
            let redirect = try await browser.consent(from: consent)
            let code = try #require(redirect.redirectParameters["code"], "no code: \(redirect.status) \(redirect.body.prefix(300))")
            let reply = try await server.exchange(code, client: client, verifier: pkce.verifier)
            try #require(reply.status == .ok, "token exchange failed: \(reply.body)")
            let tokens = IssuedTokens(reply: reply)
            let claims = try JWTParser.parse(tokens.accessToken, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
            #expect(claims.client_id == client.id)
            #expect(try await server.refresh(tokens.refreshToken, client: client).status == .ok)

            #expect(docs.requests(path) == 1, "fetched once, then served from the cache")
            #expect(docs.acceptHeaders.allSatisfy { $0 == "application/json" })
            // Operators see it next to registered clients.
            let listed = try await server.environment.clients.list().first { $0.clientID == client.id }
            #expect(listed?.registrationKind == "metadata_document" && listed?.isPublic == true)
        }
    }

    @Test("draft §4.1: a document whose client_id differs from its URL is refused on our page and not cached")
    func clientIDMismatch() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let path = docs.uniquePath()
            let id = try docs.publishClient(path, changes: ["client_id": docs.origin + "/someone-else.json"])
            var browser = Browser(server)
            let reply = try await browser.authorize(server.authorizeParameters(Self.client(id), PKCE()))
            AuthorizeEndpointTests.expectErrorPage(reply)
            #expect(reply.body.contains("does not match"))
            #expect(browser.cookies["gh_flow"] == nil)
            #expect(try await server.count("SELECT count(*)::int FROM clients WHERE client_id = \(id)") == 0)
        }
    }

    @Test("Oversized, non-JSON, secret-based and otherwise invalid documents are refused on our page")
    func invalidDocuments() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let cases: [(String, [String: Any?], String)] = [
                ("secret basic", ["token_endpoint_auth_method": "client_secret_basic"], "token_endpoint_auth_method must be none"),
                ("secret post", ["token_endpoint_auth_method": "client_secret_post"], "token_endpoint_auth_method must be none"),
                ("private_key_jwt without keys", ["token_endpoint_auth_method": "private_key_jwt"], "jwks_uri or jwks"),
                ("client_secret_jwt", ["token_endpoint_auth_method": "client_secret_jwt"], "token_endpoint_auth_method must be none"),
                ("client_secret", ["client_secret": "s3cret"], "client_secret"),
                ("no client_name", ["client_name": nil], "client_name"),
                ("no redirect_uris", ["redirect_uris": nil], "redirect_uris"),
                ("http redirect", ["redirect_uris": ["http://evil.example/cb"]], "loopback"),
                ("implicit", ["response_types": ["token"]], "response_types"),
                ("oversized", ["padding": String(repeating: "x", count: 6000)], "larger than"),
            ]
            for (name, changes, message) in cases {
                let id = try docs.publishClient(docs.uniquePath(), changes: changes)
                var browser = Browser(server)
                let reply = try await browser.authorize(server.authorizeParameters(Self.client(id), PKCE()))
                AuthorizeEndpointTests.expectErrorPage(reply, "\(name)")
                #expect(reply.body.contains(message), "\(name): \(reply.body.prefix(2000))")
            }
            let notJSON: [(String, DocumentServer.Document, String)] = [
                ("html", .init(contentType: "text/html", body: "<html>hello</html>"), "not served as JSON"),
                ("broken JSON", .init(body: "{\"client_id\": "), "not a JSON object"),
                ("array", .init(body: "[]"), "not a JSON object"),
                ("oversized, chunked", .init(body: "{\"x\": \"" + String(repeating: "x", count: 8000) + "\"}", chunked: true), "larger than"),
                ("404", .init(status: .notFound, body: "{}"), "HTTP 404"),
                ("redirect", .init(status: .found, body: "", extraHeaders: [.location: "https://example.com/c.json"]), "HTTP 302"),
            ]
            for (name, document, message) in notJSON {
                let path = docs.uniquePath()
                docs.publish(path, document)
                var browser = Browser(server)
                let reply = try await browser.authorize(server.authorizeParameters(Self.client(docs.origin + path), PKCE()))
                AuthorizeEndpointTests.expectErrorPage(reply, "\(name)")
                #expect(reply.body.contains(message), "\(name): \(reply.body.prefix(2000))")
            }
        }
    }

    @Test("draft §3, §6.5: http, private, loopback and link-local client_id URLs are refused without fetching")
    func refusedWithoutFetching() async throws {
        // No loopback allowance here: this is the production behaviour.
        try await TestAuthServer.run(documents: .productionRules) { server, docs in
            let loopbackHTTP = try docs.publishClient(docs.uniquePath())
            let ids = [loopbackHTTP, "http://example.com/client.json", "https://10.0.0.1/x", "https://[::1]/x",
                       "https://localhost/x", "https://127.0.0.1:\(docs.port)/x", "https://169.254.169.254/latest/meta-data",
                       "https://[fd00::1]/x", "https://100.64.0.1/x", "https://[::ffff:192.168.0.1]/x",
                       "https://example.com", "https://example.com/a/../client.json", "https://user:pw@example.com/c.json"]
            for id in ids {
                var browser = Browser(server)
                let started = Date()
                let reply = try await browser.authorize(server.authorizeParameters(Self.client(id), PKCE()))
                AuthorizeEndpointTests.expectErrorPage(reply, "\(id)")
                #expect(reply.body.contains("client metadata document"), "\(id): \(reply.body.prefix(1500))")
                #expect(Date().timeIntervalSince(started) < 3, "\(id) was refused before any connection")
            }
            #expect(docs.totalRequests == 0)
        }
    }

    @Test("MCP 2025-11-25: a redirect_uri that the document does not list gets our error page")
    func redirectNotInDocument() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let id = try docs.publishClient(docs.uniquePath(), redirectURIs: ["https://app.example.com/callback"])
            var browser = Browser(server)
            for uri in [Self.redirect, "https://app.example.com/callback/other", "https://evil.example/callback"] {
                let reply = try await browser.authorize(server.authorizeParameters(Self.client(id), PKCE(),
                                                                                  changes: ["redirect_uri": uri]))
                AuthorizeEndpointTests.expectErrorPage(reply, "\(uri)")
                #expect(reply.body.contains("redirect_uri is not registered"))
            }
        }
    }

    @Test("GATEHOUSE_CLIENT_METADATA_DOCUMENTS=false: not advertised, and URL client_ids are unknown clients")
    func disabled() async throws {
        try await TestAuthServer.run(overrides: DocumentFetching.loopbackAllowed.overrides) { server in
            let metadata = try await server.get("/.well-known/oauth-authorization-server").json
            #expect(metadata["client_id_metadata_document_supported"] as? Bool == true)
            let none = metadata["token_endpoint_auth_methods_supported"] as? [String] ?? []
            #expect(none.contains("none"), "Claude uses CIMD only when none is supported")
        }
        try await TestAuthServer.run(overrides: ["GATEHOUSE_CLIENT_METADATA_DOCUMENTS": "false"], documents: .loopbackAllowed) { server, docs in
            let id = try docs.publishClient(docs.uniquePath())
            let metadata = try await server.get("/.well-known/oauth-authorization-server").json
            #expect(metadata["client_id_metadata_document_supported"] == nil)
            var browser = Browser(server)
            let reply = try await browser.authorize(server.authorizeParameters(Self.client(id), PKCE()))
            AuthorizeEndpointTests.expectErrorPage(reply)
            #expect(reply.body.contains("unknown client_id"))
            #expect(docs.totalRequests == 0)
        }
    }
}
