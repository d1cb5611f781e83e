import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// The account page's own sign-in with identity providers (issue 12): `login.password: false`
/// hides its password form and refuses `POST /account/login`; its "Sign in with …" buttons run
/// the same upstream request as the login page's (PKCE S256, state, nonce, `gh_federation`
/// browser binding) and end on `/account` with a session. Real provider on loopback
/// (`TestOIDCProvider`), real AuthServer, real PostgreSQL.
@Suite("Account page sign-in through an upstream identity provider")
struct AccountFederatedSignInTests {
    typealias Federated = FederatedSignInTests

    /// `GET /account` signed out, then a press of "Sign in with Corp SSO" on it.
    static func start(_ browser: inout Browser) async throws -> (page: Reply, upstream: Federated.UpstreamRequest) {
        let page = try await browser.get("/account")
        try #require(page.status == .ok && page.body.contains("action=\"/account/login/corp\""), "\(page.status) \(page.body.prefix(400))")
        let pressed = try await browser.post("/account/login/corp", [("csrf", page.hiddenField("csrf") ?? "")])
        try #require(pressed.status == .seeOther, "no redirect to the provider: \(pressed.status) \(pressed.body.prefix(300))")
        return (page, Federated.UpstreamRequest(parameters: pressed.redirectParameters))
    }

    @Test("login.password false: /account shows the provider button and no password form; POST /account/login is refused (403)")
    func passwordOff() async throws {
        try await Federated.run(login: "login: {password: false}") { server, _ in
            var browser = Browser(server)
            let page = try await browser.get("/account")
            #expect(page.status == .ok && page.isHTML && page.body.contains("Sign in with Corp SSO"))
            #expect(page.body.contains("action=\"/account/login/corp\""))
            #expect(!page.body.contains("type=\"password\"") && !page.body.contains("action=\"/account/login\""))
            // The right password, with this browser's own form token, is still refused before any check.
            let refused = try await browser.post("/account/login", [
                ("csrf", page.hiddenField("csrf") ?? ""), ("username", server.username), ("password", server.password),
            ])
            #expect(refused.status == .forbidden && refused.isHTML, "\(refused.status) \(refused.body.prefix(300))")
            #expect(refused.body.contains("Password sign-in is switched off"))
            #expect(refused.cookies["gh_session"] == nil && refused.location == nil)
            #expect(try await server.count("""
                SELECT count(*)::int FROM audit_events WHERE kind IN ('login', 'login_failed') AND username = \(server.username)
                """) == 0)
        }
    }

    @Test("the button starts PKCE S256 with state and nonce; the callback signs the person in and lands on /account")
    func signInLandsOnAccount() async throws {
        try await Federated.run { server, provider in
            var browser = Browser(server)
            let (page, upstream) = try await Self.start(&browser)
            // With passwords on, both ways are offered.
            #expect(page.body.contains("action=\"/account/login\"") && page.body.contains("Sign in with Corp SSO"))
            #expect(upstream.parameters["code_challenge_method"] == "S256" && upstream.challenge.count == 43)
            #expect(upstream.parameters["redirect_uri"] == server.issuer + "/login/corp/callback")
            #expect(!upstream.state.isEmpty && !upstream.nonce.isEmpty && upstream.state != upstream.nonce)
            let subject = "sub-\(UUID().uuidString)"
            let email = "ann.\(subject.suffix(6).lowercased())@example.com"
            provider.expect(code: "code-1", challenge: upstream.challenge,
                            idToken: try provider.idToken(nonce: upstream.nonce, subject: subject, email: email))
            let back = try await Federated.callback(&browser, upstream)
            #expect(back.status == .seeOther && back.location == "/account", "\(back.status) \(back.body.prefix(400))")
            #expect(back.cookies["gh_session"]?.value.isEmpty == false)
            #expect(back.setCookie("gh_federation")?.contains("Max-Age=0") == true)
            #expect(back.setCookie("gh_signin")?.contains("Max-Age=0") == true)
            let account = try await browser.get("/account")
            #expect(account.status == .ok && account.body.contains("Your account") && account.body.contains(email))
            let audited = try await server.environment.audit.list(limit: 50, kind: .login)
            #expect(audited.contains { $0.username == email && $0.detail["provider"] == "corp" && $0.detail["via"] == "account" })
            // The state was single-use: replaying the callback is refused, with the way back to /account.
            let replay = try await Federated.callback(&browser, upstream)
            Federated.expectFailure(replay, status: .badRequest, code: "invalid_state", saying: "expired or was already used", wayBack: false)
        }
    }

    @Test("the button is refused without this browser's sign-in form; a callback in another browser or a refusal ends on the page with a way back to /account")
    func refusals() async throws {
        try await Federated.run(allow: "{email_domains: [example.org]}") { server, provider in
            var browser = Browser(server)
            let page = try await browser.get("/account")
            // Login CSRF: another browser, or a forged token, cannot start a sign-in.
            var stranger = Browser(server)
            let foreign = try await stranger.post("/account/login/corp", [("csrf", page.hiddenField("csrf") ?? "")])
            #expect(foreign.status == .forbidden && foreign.isHTML && foreign.location == nil)
            let forged = try await browser.post("/account/login/corp", [("csrf", "forged")])
            #expect(forged.status == .forbidden && forged.location == nil)
            let unknown = try await browser.post("/account/login/nope", [("csrf", page.hiddenField("csrf") ?? "")])
            Federated.expectFailure(unknown, status: .badRequest, code: "invalid_state", saying: "no such sign-in option", wayBack: false)
            #expect(unknown.body.contains("href=\"/account\""))

            // The confused deputy: the answer arrives in a browser that did not press the button.
            let (_, upstream) = try await Self.start(&browser)
            var victim = Browser(server)
            let elsewhere = try await Federated.callback(&victim, upstream)
            Federated.expectFailure(elsewhere, status: .badRequest, code: "invalid_state", saying: "started in another browser", wayBack: false)
            #expect(elsewhere.body.contains("href=\"/account\"") && elsewhere.cookies["gh_session"] == nil)
            #expect(provider.tokenRequests == 0)

            // No allow rule matches: refused, no session, a way back to /account (no pending request to restart).
            let (_, second) = try await Self.start(&browser)
            provider.expect(code: "code-2", challenge: second.challenge, idToken: try provider.idToken(nonce: second.nonce))
            let notAllowed = try await Federated.callback(&browser, second, code: "code-2")
            Federated.expectFailure(notAllowed, status: .forbidden, code: "not_allowed", saying: "may not sign in here", wayBack: false)
            #expect(notAllowed.body.contains("href=\"/account\"") && notAllowed.cookies["gh_session"] == nil)
            #expect(try await browser.get("/account").body.contains("Sign in with Corp SSO"))
        }
    }
}
