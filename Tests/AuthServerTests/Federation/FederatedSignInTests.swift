import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// Sign-in through an upstream OpenID provider (issue 12), against a real provider on loopback
/// (`TestOIDCProvider`: real HTTP, real RSA signatures) and the real AuthServer with real
/// PostgreSQL: the button, the upstream request (PKCE S256, state, nonce), the callback's checks
/// in order (state, browser, pending request, provider's answer, ID token, allow, account), and
/// Gatehouse's own failure page with its status, reason and way back.
@Suite("Sign-in through an upstream identity provider")
struct FederatedSignInTests {
    static func run(allow: String = "{email_domains: [example.com]}", login: String = "",
                    _ body: @escaping @Sendable (TestAuthServer, TestOIDCProvider) async throws -> Void) async throws {
        try await TestOIDCProvider.run { provider in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-fed-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let path = directory.appendingPathComponent("gatehouse.yaml").path
            try provider.configFile(allow: allow, login: login).write(toFile: path, atomically: true, encoding: .utf8)
            try await TestAuthServer.run(overrides: ["GATEHOUSE_CONFIG": path, "CORP_TEST_SECRET": TestOIDCProvider.clientSecret]) { server in
                try await body(server, provider)
            }
        }
    }

    /// What the provider's `/authorize` received: Gatehouse's redirect, read as the provider would.
    struct UpstreamRequest {
        let parameters: [String: String]
        var state: String { parameters["state"] ?? "" }
        var nonce: String { parameters["nonce"] ?? "" }
        var challenge: String { parameters["code_challenge"] ?? "" }
    }

    /// A client's authorization request, the login page, and a press of "Sign in with Corp SSO".
    static func start(_ browser: inout Browser, _ server: TestAuthServer) async throws -> (login: Reply, upstream: UpstreamRequest) {
        let client = try await server.registerClient()
        let login = try await browser.authorize(server.authorizeParameters(client, PKCE()))
        let pressed = try await browser.post("/login/corp", [("request", login.hiddenField("request") ?? ""),
                                                            ("csrf", login.hiddenField("csrf") ?? "")])
        try #require(pressed.status == .seeOther, "no redirect to the provider: \(pressed.status) \(pressed.body.prefix(300))")
        return (login, UpstreamRequest(parameters: pressed.redirectParameters))
    }

    /// The provider sends the browser back with `code`.
    static func callback(_ browser: inout Browser, _ upstream: UpstreamRequest, code: String = "code-1") async throws -> Reply {
        try await browser.get("/login/corp/callback?" + FormEncoding.query([("code", code), ("state", upstream.state)]))
    }

    static func expectFailure(_ reply: Reply, status: HTTPResponse.Status, code: String, saying text: String,
                              wayBack: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, "\(reply.status) \(reply.body.prefix(400))", sourceLocation: sourceLocation)
        #expect(reply.isHTML && reply.body.contains("Sign-in did not work"), sourceLocation: sourceLocation)
        #expect(reply.body.contains("<code>\(code)</code>"), "\(reply.body.prefix(800))", sourceLocation: sourceLocation)
        #expect(reply.body.contains(text), "\(reply.body.prefix(800))", sourceLocation: sourceLocation)
        #expect(reply.body.contains("action=\"/login/restart\"") == wayBack, sourceLocation: sourceLocation)
        #expect(reply.headers[.location] == nil, sourceLocation: sourceLocation)
    }

    @Test("the button starts PKCE S256 with state and nonce; the callback creates the user and continues to consent; later sign-ins find them")
    func signIn() async throws {
        try await Self.run { server, provider in
            var browser = Browser(server)
            let (login, upstream) = try await Self.start(&browser, server)
            #expect(login.body.contains("Sign in with Corp SSO") && login.isLoginPage)
            #expect(upstream.parameters["code_challenge_method"] == "S256" && upstream.challenge.count == 43)
            #expect(upstream.parameters["client_id"] == TestOIDCProvider.clientID)
            #expect(upstream.parameters["redirect_uri"] == server.issuer + "/login/corp/callback")
            #expect(upstream.parameters["scope"] == "openid email profile")
            #expect(!upstream.state.isEmpty && !upstream.nonce.isEmpty && upstream.state != upstream.nonce)
            let subject = "sub-\(UUID().uuidString)"
            let email = "jane.\(subject.suffix(6).lowercased())@example.com"
            provider.expect(code: "code-1", challenge: upstream.challenge,
                            idToken: try provider.idToken(nonce: upstream.nonce, subject: subject, email: email))
            let consent = try await Self.callback(&browser, upstream)
            #expect(consent.isConsentPage, "\(consent.status) \(consent.body.prefix(500))")
            #expect(provider.lastTokenForm["redirect_uri"] == server.issuer + "/login/corp/callback")
            let links = try await UserIdentityStore(database: server.database, noPasswordHash: "").list()
            let link = try #require(links.first { $0.subject == subject })
            #expect(link.providerID == "corp" && link.linkedBy == "sign-in" && link.username == email)
            let user = try #require(try await server.environment.users.find(username: link.username))
            #expect(user.email == link.username && user.emailVerified && user.name == "Jane Doe")

            // A second sign-in (another browser) finds the same user, and makes no other.
            var second = Browser(server)
            let (_, again) = try await Self.start(&second, server)
            provider.expect(code: "code-2", challenge: again.challenge,
                            idToken: try provider.idToken(nonce: again.nonce, subject: subject, email: "renamed@example.com"))
            #expect(try await Self.callback(&second, again, code: "code-2").isConsentPage)
            let after = try await UserIdentityStore(database: server.database, noPasswordHash: "").list(username: link.username)
            #expect(after.count == 1 && after[0].email == "renamed@example.com" && after[0].lastSignInAt != nil)
            let audited = try await server.environment.audit.list(limit: 50, kind: .login)
            #expect(audited.contains { $0.username == link.username && $0.detail["provider"] == "corp" && $0.detail["created"] == "true" })
        }
    }

    @Test("a callback in another browser (the confused deputy) is refused, and the state is then used up")
    func anotherBrowser() async throws {
        try await Self.run { server, provider in
            var attacker = Browser(server)
            let (_, upstream) = try await Self.start(&attacker, server)
            provider.expect(code: "code-1", challenge: upstream.challenge, idToken: try provider.idToken(nonce: upstream.nonce))
            // The victim's browser carries its own flow, but not the attacker's gh_federation cookie.
            var victim = Browser(server)
            _ = try await Self.start(&victim, server)
            let refused = try await Self.callback(&victim, upstream)
            Self.expectFailure(refused, status: .badRequest, code: "invalid_state", saying: "started in another browser", wayBack: false)
            #expect(provider.tokenRequests == 0)
            // The state cannot be used again, not even by the browser that started it.
            let replay = try await Self.callback(&attacker, upstream)
            Self.expectFailure(replay, status: .badRequest, code: "invalid_state", saying: "expired or was already used", wayBack: false)
            let failures = try await server.environment.audit.list(limit: 50, kind: .loginFailed)
            #expect(failures.contains { $0.detail["provider"] == "corp" && $0.detail["reason"] == "invalid_state" })
        }
    }

    @Test("a callback for another pending request of the same browser is refused")
    func anotherPendingRequest() async throws {
        try await Self.run { server, provider in
            var browser = Browser(server)
            let (_, first) = try await Self.start(&browser, server)
            // A new authorization request in the same browser replaces its gh_flow binding.
            let client = try await server.registerClient()
            _ = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            provider.expect(code: "code-1", challenge: first.challenge, idToken: try provider.idToken(nonce: first.nonce))
            let refused = try await Self.callback(&browser, first)
            Self.expectFailure(refused, status: .badRequest, code: "invalid_state", saying: "request this sign-in belongs to", wayBack: false)
            #expect(provider.tokenRequests == 0)
        }
    }

    @Test("an ID token with a wrong nonce, for another audience, or signed by another key is refused (502, with the reason)")
    func badIDTokens() async throws {
        try await Self.run { server, provider in
            let other = try ClientKeyPair(.rs256, kid: provider.key.kid)
            let cases: [(@Sendable (String) throws -> String, String)] = [
                ({ _ in try provider.idToken(nonce: "not-the-nonce") }, "nonce does not match"),
                ({ nonce in try provider.idToken(nonce: nonce, changes: ["aud": "another-client"]) }, "another client (aud)"),
                ({ nonce in try provider.idToken(nonce: nonce, signer: other) }, "signature does not verify"),
                ({ nonce in try provider.idToken(nonce: nonce, changes: ["exp": Int(Date().timeIntervalSince1970) - 600, "iat": Int(Date().timeIntervalSince1970) - 700]) }, "has expired"),
            ]
            for (index, (mint, reason)) in cases.enumerated() {
                var browser = Browser(server)
                let (_, upstream) = try await Self.start(&browser, server)
                provider.expect(code: "code-\(index)", challenge: upstream.challenge, idToken: try mint(upstream.nonce))
                let refused = try await Self.callback(&browser, upstream, code: "code-\(index)")
                Self.expectFailure(refused, status: .badGateway, code: "invalid_id_token", saying: reason)
                // The way back shows the login page of the same request again.
                let back = try await browser.post("/login/restart", [("request", refused.hiddenField("request") ?? ""),
                                                                     ("csrf", refused.hiddenField("csrf") ?? "")])
                #expect(back.isLoginPage && back.body.contains("Sign in with Corp SSO"))
            }
        }
    }

    @Test("no allow rule matches: the refusal page (403), audited, and no user is made")
    func notAllowed() async throws {
        try await Self.run(allow: "{email_domains: [example.org]}") { server, provider in
            var browser = Browser(server)
            let (_, upstream) = try await Self.start(&browser, server)
            let subject = "sub-\(UUID().uuidString)"
            provider.expect(code: "code-1", challenge: upstream.challenge, idToken: try provider.idToken(nonce: upstream.nonce, subject: subject))
            Self.expectFailure(try await Self.callback(&browser, upstream), status: .forbidden, code: "not_allowed", saying: "may not sign in here")
            #expect(try await UserIdentityStore(database: server.database, noPasswordHash: "").list().allSatisfy { $0.subject != subject })
            // An unverified address never matches a domain rule either.
            var again = Browser(server)
            let (_, second) = try await Self.start(&again, server)
            provider.expect(code: "code-2", challenge: second.challenge,
                            idToken: try provider.idToken(nonce: second.nonce, email: "x@example.org", changes: ["email_verified": false]))
            Self.expectFailure(try await Self.callback(&again, second, code: "code-2"), status: .forbidden, code: "not_allowed", saying: "may not sign in")
            let failures = try await server.environment.audit.list(limit: 50, kind: .loginFailed)
            #expect(failures.contains { $0.detail["reason"] == "not_allowed" && $0.outcome == .failure })
        }
    }

    @Test("an operator's link admits a person no rule matches; a disabled user is refused")
    func operatorLinkAndDisabled() async throws {
        try await Self.run(allow: "{}") { server, provider in
            let subject = "sub-\(UUID().uuidString)"
            let store = UserIdentityStore(database: server.database, noPasswordHash: "")
            #expect(try await store.link(username: server.username, providerID: "corp", subject: subject, now: Date()) != .noSuchUser)
            var browser = Browser(server)
            let (_, upstream) = try await Self.start(&browser, server)
            provider.expect(code: "code-1", challenge: upstream.challenge, idToken: try provider.idToken(nonce: upstream.nonce, subject: subject))
            let consent = try await Self.callback(&browser, upstream)
            #expect(consent.isConsentPage && consent.body.contains(server.username))
            _ = try await server.environment.users.setDisabled(server.username, true)
            var later = Browser(server)
            let (_, second) = try await Self.start(&later, server)
            provider.expect(code: "code-2", challenge: second.challenge, idToken: try provider.idToken(nonce: second.nonce, subject: subject))
            Self.expectFailure(try await Self.callback(&later, second, code: "code-2"), status: .forbidden, code: "account_disabled", saying: "is disabled")
        }
    }

    @Test("the provider's error answer, a missing code and an unknown state show the page, never a 500 or a redirect")
    func providerErrors() async throws {
        try await Self.run { server, _ in
            var browser = Browser(server)
            let (_, upstream) = try await Self.start(&browser, server)
            let denied = try await browser.get("/login/corp/callback?" + FormEncoding.query([("error", "access_denied"), ("state", upstream.state)]))
            Self.expectFailure(denied, status: .forbidden, code: "access_denied", saying: "Corp SSO did not sign you in (access_denied)")
            let unknown = try await browser.get("/login/corp/callback?code=x&state=never-issued")
            Self.expectFailure(unknown, status: .badRequest, code: "invalid_state", saying: "expired or was already used", wayBack: false)
            let nothing = try await browser.get("/login/corp/callback")
            Self.expectFailure(nothing, status: .badRequest, code: "invalid_state", saying: "expired or was already used", wayBack: false)
            let otherProvider = try await browser.get("/login/nope/callback?code=x&state=y")
            Self.expectFailure(otherProvider, status: .badRequest, code: "invalid_state", saying: "no such sign-in option", wayBack: false)
        }
    }

    @Test("login.password false: no password form, and POST /login is refused (403)")
    func passwordOff() async throws {
        try await Self.run(login: "login: {password: false}") { server, _ in
            var browser = Browser(server)
            let client = try await server.registerClient()
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(page.body.contains("Sign in with Corp SSO") && !page.body.contains("type=\"password\""))
            let refused = try await browser.login(from: page)
            #expect(refused.status == .forbidden && refused.body.contains("Password sign-in is switched off"))
        }
    }
}
