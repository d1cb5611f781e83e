import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// `GET /authorize`, check by check in the order `AuthorizeValidator` lists them: until the client
/// and its redirect URI are validated, errors stay on our own page (RFC 6749 §4.1.2.1).
@Suite(.serialized) struct AuthorizeEndpointTests {
    /// An error shown on our page: 400 HTML, no redirect.
    static func expectErrorPage(_ reply: Reply, _ comment: Comment? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == .badRequest, comment, sourceLocation: sourceLocation)
        #expect(reply.isHTML, comment, sourceLocation: sourceLocation)
        #expect(reply.location == nil, comment, sourceLocation: sourceLocation)
    }

    /// An error sent back to the client (RFC 6749 §4.1.2.1) with state and iss (RFC 9207 §2).
    static func expectErrorRedirect(_ reply: Reply, _ client: RegisteredClient, error: String, _ comment: Comment? = nil,
                                    sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == .seeOther, comment, sourceLocation: sourceLocation)
        #expect(reply.location?.hasPrefix(client.redirectURI + "?") == true, comment, sourceLocation: sourceLocation)
        let parameters = reply.redirectParameters
        #expect(parameters["error"] == error, "\(reply.location ?? "") \(comment?.rawValue ?? "")", sourceLocation: sourceLocation)
        #expect(parameters["state"] == "state-123", comment, sourceLocation: sourceLocation)
        #expect(parameters["iss"] == AuthServerFixture.issuer, comment, sourceLocation: sourceLocation)
        #expect(parameters["code"] == nil, comment, sourceLocation: sourceLocation)
    }

    @Test("RFC 6749 §4.1.2.1: an unknown client gets our error page, never a redirect")
    func unknownClient() async throws {
        try await TestAuthServer.run { server in
            var browser = Browser(server)
            let fake = RegisteredClient(id: "no-such-client", secret: nil, redirectURI: "https://evil.example/cb", authMethod: "none")
            Self.expectErrorPage(try await browser.authorize(server.authorizeParameters(fake, PKCE())))
            Self.expectErrorPage(try await browser.authorize([("response_type", "code")]), "missing client_id")
            #expect(browser.cookies["gh_flow"] == nil)
        }
    }

    @Test("RFC 6749 §4.1.2.1: an unregistered redirect URI gets our error page, even with other errors present")
    func unregisteredRedirect() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            for uri in ["https://evil.example/cb", "http://127.0.0.1:33418/other", "http://127.0.0.1:33418/callback?x=1",
                        "http://localhost:33418/callback"] {
                let reply = try await browser.authorize(server.authorizeParameters(
                    client, PKCE(), changes: ["redirect_uri": uri, "response_type": "token"]))
                Self.expectErrorPage(reply, "\(uri)")
            }
        }
    }

    @Test("RFC 8252 §7.3: a loopback redirect URI is accepted with any port, over real HTTP")
    func loopbackPortIsIgnored() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let reply = try await browser.authorize(server.authorizeParameters(
                client, PKCE(), changes: ["redirect_uri": "http://127.0.0.1:50999/callback"]))
            #expect(reply.status == .ok && reply.isLoginPage, "\(reply.status)")
            _ = try await browser.approve(server.authorizeParameters(client, PKCE()))  // signed in: errors may redirect
            let error = try await browser.authorize(server.authorizeParameters(
                client, PKCE(), changes: ["redirect_uri": "http://127.0.0.1:50999/callback", "response_type": "token"]))
            #expect(error.location?.hasPrefix("http://127.0.0.1:50999/callback?") == true)
        }
    }

    /// Issue 9 C.2: with open registration every redirect URI is attacker-chosen, so an error
    /// redirect before sign-in is an open redirector.
    @Test("RFC 9700 §4.11.2: before sign-in, errors of a dynamically registered client stay on our page")
    func noOpenRedirectBeforeSignIn() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient(["redirect_uris": ["https://evil.example/x"]])
            var browser = Browser(server)
            for changes: [String: String?] in [["response_type": "token"], ["code_challenge": nil],
                                               ["code_challenge_method": "plain"], ["resource": "https://other.example/mcp"]] {
                let reply = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: changes))
                Self.expectErrorPage(reply, "\(changes)")
                #expect(!reply.body.contains("evil.example"), "\(changes)")
            }
            #expect(browser.cookies["gh_flow"] == nil)
        }
    }

    @Test("RFC 6749 §4.1.2.1, OAuth 2.1 §4.1.1, RFC 8707 §2: once signed in and the redirect URI is valid, errors go back with state and iss")
    func errorsRedirectAfterValidation() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            _ = try await browser.approve(server.authorizeParameters(client, PKCE()))
            let challenge43 = String(repeating: "A", count: 42) + "!"
            let cases: [(String, [String: String?], String)] = [
                ("response_type token", ["response_type": "token"], "unsupported_response_type"),
                ("response_type missing", ["response_type": nil], "invalid_request"),
                ("missing code_challenge", ["code_challenge": nil], "invalid_request"),
                ("method plain", ["code_challenge_method": "plain"], "invalid_request"),
                ("missing method", ["code_challenge_method": nil], "invalid_request"),
                ("challenge too short", ["code_challenge": "abc"], "invalid_request"),
                ("challenge not base64url", ["code_challenge": challenge43], "invalid_request"),
                ("resource not ours", ["resource": "https://other.example.com/mcp"], "invalid_target"),
                ("resource with fragment", ["resource": "http://localhost:8000/mcp#x"], "invalid_target"),
                ("resource relative", ["resource": "/mcp"], "invalid_target"),
            ]
            for (name, changes, error) in cases {
                let reply = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: changes))
                Self.expectErrorRedirect(reply, client, error: error, "\(name)")
            }
            #expect(try await server.count("SELECT count(*)::int FROM authorization_requests WHERE client_id = \(client.id)") == 0)
        }
    }

    @Test("RFC 6749 §3.1: a repeated parameter is refused (on our page before the redirect is known, else redirected)")
    func repeatedParameters() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            _ = try await browser.approve(server.authorizeParameters(client, PKCE()))
            let base = server.authorizeParameters(client, PKCE())
            Self.expectErrorPage(try await browser.authorize(base + [("client_id", client.id)]), "client_id twice")
            Self.expectErrorPage(try await browser.authorize(base + [("redirect_uri", client.redirectURI)]), "redirect_uri twice")
            for name in ["response_type", "code_challenge", "code_challenge_method", "scope"] {
                let value = base.first { $0.0 == name }!.1
                Self.expectErrorRedirect(try await browser.authorize(base + [(name, value)]), client, error: "invalid_request", "\(name)")
            }
        }
    }

    @Test("RFC 6749 §3.3: an absent scope means the client's registered default; unknown scopes are narrowed away")
    func scopeDefaultsAndNarrowing() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(["scope": "notes:read"])
            var browser = Browser(server)
            let first = try await browser.approve(server.authorizeParameters(client, PKCE(), changes: ["scope": "notes:read"]))
            #expect(first.status == .seeOther)
            // Signed in now: the consent page shows the scopes the request resolved to.
            let other = try await server.registerClient()
            let absent = try await browser.authorize(server.authorizeParameters(other, PKCE(), changes: ["scope": nil]))
            #expect(absent.isConsentPage)
            #expect(absent.body.contains("<code>notes:read</code>") && absent.body.contains("<code>notes:write</code>"))
            let narrowed = try await browser.authorize(server.authorizeParameters(other, PKCE(), changes: ["scope": "notes:read mcp bogus"]))
            #expect(narrowed.isConsentPage)
            #expect(narrowed.body.contains("<code>notes:read</code>") && !narrowed.body.contains("notes:write"))
            #expect(!narrowed.body.contains("bogus"))
            let defaulted = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["scope": nil]))
            // The client's default (notes:read); a loopback client is asked every time (RFC 8252 §8.6).
            #expect(defaulted.isConsentPage)
            #expect(defaulted.body.contains("<code>notes:read</code>") && !defaulted.body.contains("notes:write"))
        }
    }

    /// Found while writing the FuzzForm harness (docs/testing.md "Fuzzing"): the query was read with
    /// Hummingbird's `queryParameters`, which keeps `+` and leaves names percent-encoded, so
    /// `scope=notes%3Aread+bogus` was the one unknown scope "notes:read+bogus", narrowed away to
    /// the default of every scope.
    @Test("RFC 6749 §4.1.1: the query is application/x-www-form-urlencoded: + is a space, names are decoded")
    func queryIsFormEncoded() async throws {
        try await TestAuthServer.run { server in
            var browser = Browser(server)
            let client = try await server.registerClient()
            _ = try await browser.approve(server.authorizeParameters(client, PKCE()))  // signed in: the consent page shows the scope
            let query = FormEncoding.query(server.authorizeParameters(client, PKCE(), changes: ["scope": nil]))
            let page = try await browser.get("/authorize?" + query + "&scope=notes%3Aread+bogus")
            #expect(page.isConsentPage, "\(page.status)")
            #expect(page.body.contains("<code>notes:read</code>") && !page.body.contains("notes:write"))
            let encodedName = query.replacingOccurrences(of: "response_type=", with: "response%5Ftype=")
            let named = try await browser.get("/authorize?" + encodedName + "&scope=notes%3Awrite")
            #expect(named.isConsentPage, "\(named.status)")
            #expect(named.body.contains("<code>notes:write</code>") && !named.body.contains("notes:read"))
        }
    }

    @Test("The login page cannot be framed or cached, and the flow cookie is HttpOnly and SameSite=Lax")
    func loginPageHeaders() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(page.status == .ok && page.isLoginPage)
            #expect(page.headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true)
            #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            #expect(page.headers[.cacheControl] == "no-store")
            let flow = try #require(page.cookies["gh_flow"])
            #expect(flow.header.contains("HttpOnly"))
            #expect(flow.header.lowercased().contains("samesite=lax"))
            #expect(flow.header.contains("Path=/"))
            #expect(page.hiddenField("request") != nil && page.hiddenField("csrf") != nil)
        }
    }

    /// Issue 9 C.15: RFC 6265bis §4.1.3.2, a `__Host-` cookie is only accepted with `Secure`,
    /// `Path=/` and no `Domain`, so a sibling subdomain cannot plant a session or flow cookie.
    @Test("Under an https issuer the flow and session cookies carry the __Host- prefix and Secure")
    func hostPrefixedCookiesUnderHTTPS() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_ISSUER": "https://auth.example.com"]) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(page.isLoginPage)
            #expect(page.cookies["gh_flow"] == nil)
            let flow = try #require(page.cookies["__Host-gh_flow"])
            #expect(flow.header.contains("Secure") && flow.header.contains("Path=/") && !flow.header.contains("Domain"))
            let consent = try await browser.login(from: page)
            #expect(consent.isConsentPage)
            let session = try #require(consent.cookies["__Host-gh_session"])
            #expect(session.header.contains("Secure") && session.header.contains("HttpOnly") && !session.header.contains("Domain"))
            // The signed-in session is found under its prefixed name: the next request skips login.
            let next = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(next.isConsentPage)
        }
    }

    /// Issue 9 C.15: RFC 7591 §2 `scope`, "Space-separated list of scope values … that the client
    /// can use when requesting access tokens".
    @Test("RFC 7591 §2: the registered scope bounds what a client may request; nothing inside it is invalid_scope")
    func registeredScopeBoundsRequests() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(["scope": "notes:read"])
            var browser = Browser(server)
            let pkce = PKCE()
            let reply = try await browser.approve(server.authorizeParameters(client, pkce, changes: ["scope": "notes:read notes:write"]))
            let code = try #require(reply.redirectParameters["code"])
            let tokens = IssuedTokens(reply: try await server.exchange(code, client: client, verifier: pkce.verifier))
            #expect(tokens.scope == "notes:read")
            let outside = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["scope": "notes:write"]))
            Self.expectErrorRedirect(outside, client, error: "invalid_scope")
        }
    }
}
