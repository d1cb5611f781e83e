import Foundation
import HTTPTypes
import NIOCore
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// The account page (issue 13 item 4): `GET /account` and its sign-in, the Revoke button, API
/// keys, sessions, `POST /logout`, and the CSRF checks every one of its forms passes.
@Suite struct AccountPageTests {
    typealias Refused = AuthorizationCodeGrantTests

    @Test("/account without a session is the sign-in form, bound to this browser; signing in comes back to /account")
    func signInThenBack() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            let page = try await browser.get("/account")
            #expect(page.status == .ok && page.isHTML && page.body.contains("action=\"/account/login\""))
            #expect(page.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
            #expect(!page.body.contains("<script"))
            let signInCookie = try #require(page.cookies["gh_signin"])
            #expect(signInCookie.header.contains("HttpOnly") && signInCookie.header.contains("SameSite=Lax"))

            let wrong = try await browser.post("/account/login", [
                ("csrf", page.hiddenField("csrf") ?? ""), ("username", user.username), ("password", "not it"),
            ])
            #expect(wrong.status == .unauthorized && wrong.body.contains("action=\"/account/login\""))
            let signedIn = try await browser.signInToAccount(user.username, password: server.password, page: wrong)
            #expect(signedIn.status == .seeOther && signedIn.location == "/account")
            #expect(signedIn.cookies["gh_session"]?.value.isEmpty == false)
            #expect(signedIn.setCookie("gh_signin")?.contains("Max-Age=0") == true)
            let account = try await browser.get("/account")
            #expect(account.status == .ok && account.body.contains("Your account") && account.body.contains(user.username))
            #expect(account.body.contains("this device"))
            #expect(try await server.count("""
                SELECT count(*)::int FROM audit_events WHERE kind = 'login' AND username = \(user.username)
                """) == 1)
        }
    }

    @Test("The sign-in form is refused without this browser's gh_signin cookie or with another token (login CSRF)")
    func signInFormIsBoundToTheBrowser() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            let page = try await browser.get("/account")
            var stranger = Browser(server)
            let fields = [("csrf", page.hiddenField("csrf") ?? ""), ("username", user.username), ("password", server.password)]
            let foreign = try await stranger.post("/account/login", fields)
            #expect(foreign.status == .forbidden && foreign.isHTML && foreign.cookies["gh_session"] == nil)
            let forged = try await browser.post("/account/login", fields.map { $0.0 == "csrf" ? ("csrf", "forged") : $0 })
            #expect(forged.status == .forbidden && forged.cookies["gh_session"] == nil)
            let crossSite = try await server.postForm("/account/login", fields, headers: browser.cookieHeader + [.origin: "https://evil.example"])
            #expect(crossSite.status == .forbidden && crossSite.cookies["gh_session"] == nil)
        }
    }

    @Test("With a session the page lists an app (name, registered itself, resource, scopes, use) and a key")
    func listsAppsKeysAndSessions() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            let client = try await server.registerClient(authMethod: "none", ["client_name": "ChatGPT"])
            var browser = Browser(server)
            _ = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "notes:read"])
            _ = try await APIKeyStore(database: server.database).create(.init(
                username: user.username, name: "laptop key", clientLabel: "api-key", resource: server.resource,
                scope: ScopeSet("notes:read"), expiresAt: server.clock.now.addingTimeInterval(86_400)), now: server.clock.now)
            let page = try await browser.get("/account")
            #expect(page.status == .ok)
            #expect(page.body.contains("ChatGPT") && page.body.contains("registered itself"))
            #expect(page.body.contains(server.resource) && page.body.contains("<code>notes:read</code>"))
            #expect(page.body.contains("name=\"client_id\" value=\"\(client.id)\""))
            #expect(page.body.contains("laptop key") && page.body.contains("active"))
            #expect(!page.body.contains("gh_pat_"))
            #expect(page.body.contains("First used") && page.body.contains(" UTC"))
            #expect(page.body.contains("this device") && page.body.contains("Sign out everywhere"))
        }
    }

    @Test("Revoke ends that app's grant for this person at once: its next refresh is invalid_grant, the other app keeps its own")
    func revokeApp() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            let chatgpt = try await server.registerClient(authMethod: "none", ["client_name": "ChatGPT",
                                                                              "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"]])
            let other = try await server.registerClient()
            var browser = Browser(server)
            let revokedTokens = try await server.issueTokens(as: user, chatgpt, browser: &browser, changes: ["scope": "notes:read"])
            let keptTokens = try await server.issueTokens(as: user, other, browser: &browser, changes: ["scope": "notes:read"])
            let page = try await browser.get("/account")
            let revoke = try await browser.post("/account/apps/revoke", [("csrf", page.hiddenField("csrf") ?? ""), ("client_id", chatgpt.id)])
            #expect(revoke.status == .seeOther && revoke.location == "/account?done=app-revoked")

            Refused.expectRefused(try await server.refresh(revokedTokens.refreshToken, client: chatgpt), "invalid_grant")
            #expect(try await server.isRevoked(jti: revokedTokens.jti))
            #expect(try await server.refresh(keptTokens.refreshToken, client: other).status == .ok)
            #expect(try await server.count("SELECT count(*)::int FROM consents WHERE client_id = \(chatgpt.id)") == 0)
            let after = try await browser.get(revoke.location ?? "/account")
            #expect(after.body.contains("Access revoked") && !after.body.contains("value=\"\(chatgpt.id)\""))
            #expect(try await server.count("""
                SELECT count(*)::int FROM audit_events WHERE kind = 'token_family_revoked' AND username = \(user.username)
                  AND client_id = \(chatgpt.id) AND detail->>'via' = 'account'
                """) == 1)
            // The consent went with the grant: reconnecting asks again.
            let again = try await browser.authorize(server.authorizeParameters(chatgpt, PKCE(), changes: ["scope": "notes:read"]))
            #expect(again.isConsentPage)
        }
    }

    @Test("A POST without this session's CSRF token, or from another origin, is 403 and changes nothing")
    func csrfRefusal() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "notes:read"])
            let token = try #require(try await browser.get("/account").hiddenField("csrf"))
            for fields in [[("client_id", client.id)], [("csrf", "forged"), ("client_id", client.id)]] {
                let refused = try await browser.post("/account/apps/revoke", fields)
                #expect(refused.status == .forbidden && refused.isHTML && refused.body.contains("Nothing was changed"))
            }
            // The right token, but the browser says the form came from another site.
            for header: HTTPFields in [[.origin: "https://evil.example"], [HTTPField.Name("Sec-Fetch-Site")!: "cross-site"]] {
                let refused = try await server.postForm("/account/apps/revoke", [("csrf", token), ("client_id", client.id)],
                                                        headers: browser.cookieHeader + header)
                #expect(refused.status == .forbidden)
            }
            // Another person's session token does not work for this one.
            var mallory = Browser(server)
            let malloryUser = try await server.createUser(prefix: "acct")
            _ = try await mallory.signInToAccount(malloryUser.username, password: server.password)
            let foreign = try await mallory.post("/account/apps/revoke", [("csrf", token), ("client_id", client.id)])
            #expect(foreign.status == .forbidden)
            for path in ["/logout", "/account/sessions/sign-out-everywhere", "/account/keys"] {
                let refused = try await browser.post(path, [("csrf", "forged")])
                #expect(refused.status == .forbidden, "\(path)")
            }
            #expect(try await server.refresh(tokens.refreshToken, client: client).status == .ok)
            #expect(try await browser.get("/account").body.contains("Your account"))
        }
    }

    @Test("A key created on the page is shown once, listed without its secret, works nowhere once revoked; other people's keys are untouchable")
    func createAndRevokeKey() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            _ = try await browser.signInToAccount(user.username, password: server.password)
            let token = try #require(try await browser.get("/account").hiddenField("csrf"))
            let created = try await browser.post("/account/keys", [
                ("csrf", token), ("name", "my script"), ("resource", server.resource), ("scope", "notes:read"), ("expires", "30"),
            ])
            #expect(created.status == .ok && created.headers[.cacheControl] == "no-store")
            let key = try #require(created.body.range(of: #"gh_pat_[A-Za-z0-9_\-]+"#, options: .regularExpression).map { String(created.body[$0]) })
            let keys = try await APIKeyStore(database: server.database).list(username: user.username)
            let record = try #require(keys.first)
            #expect(keys.count == 1 && record.name == "my script" && record.scope.description == "notes:read")
            #expect(Int(record.expiresAt.timeIntervalSince(record.createdAt)) == 30 * 86_400)
            let page = try await browser.get("/account")
            #expect(page.body.contains("my script") && !page.body.contains(key))

            // Someone else cannot revoke it, even with a valid session of their own.
            var other = Browser(server)
            let otherUser = try await server.createUser(prefix: "acct")
            _ = try await other.signInToAccount(otherUser.username, password: server.password)
            let otherToken = try #require(try await other.get("/account").hiddenField("csrf"))
            let foreign = try await other.post("/account/keys/revoke", [("csrf", otherToken), ("key_id", record.id.uuidString)])
            #expect(foreign.status == .badRequest)
            #expect(try await APIKeyStore(database: server.database).find(id: record.id)?.revokedAt == nil)

            let revoked = try await browser.post("/account/keys/revoke", [("csrf", token), ("key_id", record.id.uuidString)])
            #expect(revoked.status == .seeOther && revoked.location == "/account?done=key-revoked")
            #expect(try await APIKeyStore(database: server.database).find(id: record.id)?.revokedAt != nil)
            #expect(try await server.isRevoked(jti: APIKeySecret.revocationID(keyID: record.id.uuidString.lowercased())))
            #expect(try await browser.get("/account").body.contains("revoked"))
        }
    }

    @Test("Bad key input is a clear 400 page, never a 500 or a JSON error; GATEHOUSE_API_KEYS=false refuses creating")
    func badKeyInput() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            _ = try await browser.signInToAccount(user.username, password: server.password)
            let token = try #require(try await browser.get("/account").hiddenField("csrf"))
            let good = [("csrf", token), ("name", "k"), ("resource", server.resource), ("scope", "notes:read"), ("expires", "30")]
            let cases: [(String, [(String, String)])] = [
                ("expires", good.map { $0.0 == "expires" ? ("expires", "1000") : $0 }),
                ("no scope", good.filter { $0.0 != "scope" }),
                ("foreign scope", good.map { $0.0 == "scope" ? ("scope", "admin:all") : $0 }),
                ("unknown resource", good.map { $0.0 == "resource" ? ("resource", "https://elsewhere.example/mcp") : $0 }),
                ("no name", good.filter { $0.0 != "name" }),
                ("repeated name", good + [("name", "again")]),
            ]
            for (label, fields) in cases {
                let reply = try await browser.post("/account/keys", fields)
                #expect(reply.status == .badRequest && reply.isHTML && reply.body.contains("Back to your account"), "\(label): \(reply.status)")
            }
            let notAForm = try await server.send(.post, "/account/keys", headers: browser.cookieHeader + [.contentType: "application/json"], body: "{}")
            #expect(notAForm.status == .badRequest && notAForm.isHTML)
            #expect(try await APIKeyStore(database: server.database).list(username: user.username).isEmpty)
        }
        try await TestAuthServer.run(overrides: ["GATEHOUSE_API_KEYS": "false"]) { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            _ = try await browser.signInToAccount(user.username, password: server.password)
            let page = try await browser.get("/account")
            #expect(page.body.contains("API keys are switched off") && !page.body.contains("action=\"/account/keys\""))
            let refused = try await browser.post("/account/keys", [
                ("csrf", page.hiddenField("csrf") ?? ""), ("name", "k"), ("resource", server.resource), ("scope", "notes:read"),
                ("expires", "30"),
            ])
            #expect(refused.status == .forbidden)
            #expect(try await APIKeyStore(database: server.database).list(username: user.username).isEmpty)
        }
    }

    @Test("Bad input on the other forms is a 400 page too; a disabled person's session shows the sign-in")
    func badInputAndDisabledUser() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            _ = try await browser.signInToAccount(user.username, password: server.password)
            let token = try #require(try await browser.get("/account").hiddenField("csrf"))
            let cases: [(String, [(String, String)])] = [
                ("/account/apps/revoke", [("csrf", token)]),
                ("/account/keys/revoke", [("csrf", token), ("key_id", "not-a-uuid")]),
                ("/account/keys/revoke", [("csrf", token), ("key_id", UUID().uuidString)]),
                ("/account/apps/revoke", [("csrf", token), ("client_id", "x"), ("client_id", "y")]),
            ]
            for (path, fields) in cases {
                let reply = try await browser.post(path, fields)
                #expect(reply.status == .badRequest && reply.isHTML, "\(path) \(fields): \(reply.status)")
            }
            let json = try await server.send(.post, "/logout", headers: browser.cookieHeader + [.contentType: "application/json"], body: "{}")
            #expect(json.status == .badRequest && json.isHTML)
            #expect(try await server.sessions(of: user) == 1)

            _ = try await UserStore(database: server.database, hasher: AuthServerFixture.passwordHasher)
                .setDisabled(user.username, true)
            #expect(try await browser.get("/account").body.contains("action=\"/account/login\""))
        }
    }

    @Test("POST /logout deletes this session's row and clears the cookie with its attributes; the next /account asks to sign in")
    func logout() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            var browser = Browser(server)
            _ = try await browser.signInToAccount(user.username, password: server.password)
            let sessionCookie = try #require(browser.cookies["gh_session"])
            #expect(try await server.sessions(of: user) == 1)
            let token = try #require(try await browser.get("/account").hiddenField("csrf"))
            let out = try await browser.post("/logout", [("csrf", token)])
            #expect(out.status == .ok && out.body.contains("Signed out"))
            let cleared = try #require(out.setCookie("gh_session"))
            #expect(cleared.hasPrefix("gh_session=;") && cleared.contains("Max-Age=0") && cleared.contains("Path=/")
                    && cleared.contains("HttpOnly") && cleared.contains("SameSite=Lax"))
            #expect(try await server.sessions(of: user) == 0)
            #expect(try await browser.get("/account").body.contains("action=\"/account/login\""))
            // The old cookie is dead too, should it have been copied.
            var copy = Browser(server)
            copy.cookies["gh_session"] = sessionCookie
            #expect(try await copy.get("/account").body.contains("action=\"/account/login\""))
            #expect(try await server.count("SELECT count(*)::int FROM audit_events WHERE kind = 'logout' AND username = \(user.username)") == 1)
        }
    }

    @Test("Sign out everywhere deletes every session of the person, other people's stay")
    func signOutEverywhere() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "acct")
            let bystander = try await server.createUser(prefix: "acct")
            var laptop = Browser(server), phone = Browser(server), theirs = Browser(server)
            _ = try await laptop.signInToAccount(user.username, password: server.password)
            _ = try await phone.signInToAccount(user.username, password: server.password)
            _ = try await theirs.signInToAccount(bystander.username, password: server.password)
            let page = try await laptop.get("/account")
            #expect(page.body.components(separatedBy: "class=\"item\"").count - 1 == 2, "two sessions listed")
            #expect(page.body.components(separatedBy: "this device").count - 1 == 1)
            let out = try await laptop.post("/account/sessions/sign-out-everywhere", [("csrf", page.hiddenField("csrf") ?? "")])
            #expect(out.status == .ok && out.body.contains("Signed out everywhere"))
            #expect(try await server.sessions(of: user) == 0)
            #expect(try await server.sessions(of: bystander) == 1)
            #expect(try await phone.get("/account").body.contains("action=\"/account/login\""))
            #expect(try await theirs.get("/account").body.contains("Your account"))
            #expect(try await server.count("""
                SELECT count(*)::int FROM audit_events WHERE kind = 'signed_out_everywhere' AND username = \(user.username)
                  AND detail->>'sessions' = '2'
                """) == 1)
        }
    }

    @Test("The consent page, and the login page of a signed-in browser (prompt=login), carry a sign-out POST form")
    func signOutOnLoginAndConsent() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let login = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(login.isLoginPage && !login.body.contains("action=\"/logout\""))
            let consent = try await browser.login(from: login)
            #expect(consent.isConsentPage && consent.body.contains("action=\"/logout\""))
            // The consent form stays the first form: its csrf is the first one on the page.
            #expect(consent.body.range(of: "action=\"/consent\"")!.lowerBound < consent.body.range(of: "action=\"/logout\"")!.lowerBound)
            let again = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["prompt": "login"]))
            #expect(again.isLoginPage && again.body.contains("action=\"/logout\"") && again.body.contains("Signed in as"))
            let signOutToken = try #require(again.body.components(separatedBy: "action=\"/logout\"").last.flatMap {
                Reply(head: again.head, body: .init(string: $0)).hiddenField("csrf")
            })
            let session = try #require(browser.cookies["gh_session"])
            let out = try await browser.post("/logout", [("csrf", signOutToken)])
            #expect(out.status == .ok && out.body.contains("Signed out"))
            #expect(try await server.count(
                "SELECT count(*)::int FROM login_sessions WHERE id_hash = \(ByteBuffer(bytes: Digest.sha256(session)))") == 0)
        }
    }
}

extension Browser {
    /// Signs in on the account page's own form (from `page`, or a fresh GET /account).
    @discardableResult
    mutating func signInToAccount(_ username: String, password: String, page: Reply? = nil) async throws -> Reply {
        var form = page
        if form == nil { form = try await get("/account") }
        return try await post("/account/login", [
            ("csrf", form?.hiddenField("csrf") ?? ""), ("username", username), ("password", password),
        ])
    }
}

extension Reply {
    /// The raw `Set-Cookie` header for `name`, a clearing one (empty value) included.
    func setCookie(_ name: String) -> String? {
        headers[values: .setCookie].first { $0.hasPrefix(name + "=") }
    }
}

extension TestAuthServer {
    func sessions(of user: User) async throws -> Int {
        try await count("SELECT count(*)::int FROM login_sessions WHERE user_id = \(user.id)")
    }
}

extension HTTPFields {
    static func + (lhs: HTTPFields, rhs: HTTPFields) -> HTTPFields {
        var fields = lhs
        fields.append(contentsOf: rhs)
        return fields
    }
}
