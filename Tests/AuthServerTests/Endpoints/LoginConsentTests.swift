import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// `POST /login` and `POST /consent`: forms bound to the browser that started the request,
/// CSRF-checked, throttled, audited.
@Suite(.serialized) struct LoginConsentTests {
    @Test("A wrong password is a 401 page, recorded in the audit log; nothing is issued, over real HTTP")
    func wrongPassword() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            let reply = try await browser.login(from: page, password: "not the password")
            #expect(reply.status == .unauthorized && reply.isLoginPage)
            #expect(reply.body.contains("don&#39;t match") || reply.body.contains("don't match"))
            #expect(browser.cookies["gh_session"] == nil)
            let events = try await server.count("""
                SELECT count(*)::int FROM audit_events WHERE kind = 'login_failed' AND username = \(server.username)
                  AND remote_address = \(server.address) AND client_id = \(client.id) AND outcome = 'failure'
                """)
            #expect(events == 1)
            // The form still works after a mistake.
            let retry = try await browser.login(from: reply)
            #expect(retry.isConsentPage)
        }
    }

    @Test("Throttling: the sixth attempt after five failures is 429 with Retry-After")
    func throttledAfterFiveFailures() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            // An account name of its own, so no other test's sign-ins are throttled.
            let victim = TestMarker().name.lowercased()
            for _ in 0..<5 {
                let reply = try await browser.login(from: page, username: victim, password: "guess-guess-guess")
                #expect(reply.status == .unauthorized)
            }
            let throttled = try await browser.login(from: page, username: victim, password: "guess-guess-guess")
            #expect(throttled.status == .tooManyRequests)
            let retryAfter = try #require(throttled.headers[.retryAfter].flatMap(Int.init))
            #expect((1...900).contains(retryAfter))
            #expect(throttled.isLoginPage)
            #expect(browser.cookies["gh_session"] == nil)
        }
    }

    @Test("Login forms without this browser's gh_flow cookie, or with a wrong CSRF token, are refused")
    func loginFormIsBoundToTheBrowser() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            let fields = [("request", page.hiddenField("request") ?? ""), ("csrf", page.hiddenField("csrf") ?? ""),
                          ("username", server.username), ("password", server.password)]
            var stranger = Browser(server)
            let noCookie = try await stranger.post("/login", fields)
            #expect(noCookie.status == .badRequest && noCookie.isHTML && !noCookie.isLoginPage)
            #expect(noCookie.cookies["gh_session"] == nil)

            let wrongCSRF = try await browser.post("/login", fields.map { $0.0 == "csrf" ? ("csrf", "forged") : $0 })
            #expect(wrongCSRF.status == .badRequest && !wrongCSRF.isLoginPage)
            let noCSRF = try await browser.post("/login", fields.filter { $0.0 != "csrf" })
            #expect(noCSRF.status == .badRequest && !noCSRF.isLoginPage)
            #expect(browser.cookies["gh_session"] == nil)
        }
    }

    @Test("A consent form carrying another browser's request is refused, and that request stays usable")
    func consentIsBoundToTheBrowser() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var alice = Browser(server)
            let login = try await alice.authorize(server.authorizeParameters(client, PKCE()))
            let consent = try await alice.login(from: login)
            #expect(consent.isConsentPage)
            // Another browser with a session of its own (same account) and its own flow cookie.
            var mallory = Browser(server)
            mallory.cookies["gh_session"] = alice.cookies["gh_session"]
            _ = try await mallory.authorize(server.authorizeParameters(client, PKCE()))
            #expect(mallory.cookies["gh_flow"] != nil && mallory.cookies["gh_flow"] != alice.cookies["gh_flow"])
            let stolen = try await mallory.consent(from: consent)
            #expect(stolen.status == .badRequest && stolen.location == nil)
            let forged = try await alice.post("/consent", [("request", consent.hiddenField("request") ?? ""), ("csrf", "x"),
                                                          ("decision", "approve")])
            #expect(forged.status == .badRequest && forged.location == nil)
            let approved = try await alice.consent(from: consent)
            #expect(approved.status == .seeOther && approved.redirectParameters["code"] != nil)
            // A request completes once.
            let again = try await alice.consent(from: consent)
            #expect(again.status == .badRequest && again.location == nil)
        }
    }

    @Test("RFC 6749 §4.1.2.1: Deny redirects with access_denied, state and iss (RFC 9207), and records nothing")
    func denyRedirectsWithAccessDenied() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let login = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            let consent = try await browser.login(from: login)
            let denied = try await browser.consent(from: consent, decision: "deny")
            #expect(denied.status == .seeOther)
            #expect(denied.location?.hasPrefix(client.redirectURI + "?") == true)
            #expect(denied.redirectParameters["error"] == "access_denied")
            #expect(denied.redirectParameters["state"] == "state-123")
            #expect(denied.redirectParameters["iss"] == server.issuer)
            #expect(denied.redirectParameters["code"] == nil)
            #expect(try await server.count("SELECT count(*)::int FROM consents WHERE client_id = \(client.id)") == 0)
            #expect(try await server.count("SELECT count(*)::int FROM authorization_codes WHERE client_id = \(client.id)") == 0)
            // Denying did not remember anything: the next request asks again.
            let next = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(next.isConsentPage)
        }
    }

    @Test("A dynamically registered client with an https redirect asks the first time; remembered consent then skips the page")
    func rememberedConsent() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(["redirect_uris": ["https://app.example.com/callback"]])
            var browser = Browser(server)
            let login = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["scope": "notes:read"]))
            let consent = try await browser.login(from: login)
            #expect(consent.isConsentPage)
            #expect(consent.body.contains("registered itself"))
            #expect(consent.body.contains("app.example.com"))
            #expect(!consent.body.contains("an app on this computer"))
            let first = try await browser.consent(from: consent)
            #expect(first.status == .seeOther && first.redirectParameters["code"] != nil)
            #expect(first.redirectParameters["iss"] == server.issuer && first.redirectParameters["state"] == "state-123")

            let again = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["scope": "notes:read"]))
            #expect(again.status == .seeOther && again.redirectParameters["code"] != nil)
            // More than was granted asks again; so does prompt=consent.
            let wider = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(wider.isConsentPage)
            let forced = try await browser.authorize(server.authorizeParameters(
                client, PKCE(), changes: ["scope": "notes:read", "prompt": "consent"]))
            #expect(forced.isConsentPage)
        }
    }

    /// Issue 9 C.4, RFC 8252 §8.6: "the authorization server SHOULD NOT process authorization
    /// requests automatically without user consent or interaction, except when the identity of the
    /// client can be assured." Any local process can listen on a loopback port or claim a scheme.
    @Test("RFC 8252 §8.6: loopback and private-use redirects show the consent page every time, on any port",
          arguments: [["http://127.0.0.1:33418/callback"], ["cursor://anysphere.cursor-mcp/oauth/callback"]])
    func unprovableClientsAlwaysAsk(_ redirects: [String]) async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(["redirect_uris": redirects])
            var browser = Browser(server)
            let first = try await browser.approve(server.authorizeParameters(client, PKCE(), changes: ["scope": "notes:read"]))
            #expect(first.status == .seeOther && first.redirectParameters["code"] != nil)
            // The same person, the same client, the same scope: still one click, never a silent code.
            var changes: [String: String?] = ["scope": "notes:read"]
            if redirects[0].hasPrefix("http://") { changes["redirect_uri"] = "http://127.0.0.1:40999/callback" }
            let again = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: changes))
            #expect(again.isConsentPage, "\(again.status) \(again.location ?? "")")
            #expect(again.body.contains("an app on this computer"))
            #expect(again.location == nil)
        }
    }
}
