import Foundation
import HTTPTypes
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `users disable` and `users set-password` end everything the user holds (issue 9, C.11): every
/// token family, every code not yet exchanged, every login session. Run through the real
/// `AuthServer` binary against the running server's database, as an operator would.
@Suite struct UserRevocationTests {
    typealias Refused = AuthorizationCodeGrantTests

    /// What a signed-in user holds: tokens from one grant, a second code not yet exchanged, and
    /// a browser with a live session.
    struct Holdings {
        let user: User
        let client: RegisteredClient
        let tokens: IssuedTokens
        let pendingCode: String
        let pendingPKCE: PKCE
        var browser: Browser
    }

    static func holdings(_ server: TestAuthServer) async throws -> Holdings {
        let user = try await server.createUser(prefix: "revoked")
        let client = try await server.registerClient(authMethod: "client_secret_basic")
        var browser = Browser(server)
        let tokens = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid notes:read"])
        let pkce = PKCE()
        let code = try await server.obtainCode(as: user, client, pkce, browser: &browser)
        return Holdings(user: user, client: client, tokens: tokens, pendingCode: code, pendingPKCE: pkce, browser: browser)
    }

    static func admin(_ arguments: String..., stdin: String = "") async throws -> AdminProcess.Result {
        let fixture = try await AuthServerFixture.shared()
        let result = try await AdminProcess.run(arguments, environment: ["DATABASE_URL": fixture.databaseURL], stdin: stdin)
        #expect(result.status == 0, "\(result)")
        return result
    }

    static func introspect(_ server: TestAuthServer, _ held: Holdings) async throws -> Bool? {
        let reply = try await server.tokenRequest([("token", held.tokens.accessToken)], client: held.client, path: "/introspect")
        #expect(reply.status == .ok, "\(reply.body)")
        return reply.json["active"] as? Bool
    }

    /// Everything refused: refresh and code are invalid_grant, the access token is revoked for the
    /// resource servers (the ledger they follow) and introspects inactive, the session is gone.
    static func expectAllRevoked(_ server: TestAuthServer, _ held: inout Holdings) async throws {
        Refused.expectRefused(try await server.refresh(held.tokens.refreshToken, client: held.client), "invalid_grant")
        Refused.expectRefused(try await server.exchange(held.pendingCode, client: held.client, verifier: held.pendingPKCE.verifier),
                              "invalid_grant")
        #expect(try await server.isRevoked(jti: held.tokens.jti))
        #expect(try await introspect(server, held) == false)
        #expect(try await server.userInfo(held.tokens.accessToken).status == .unauthorized)
        let again = try await held.browser.authorize(server.authorizeParameters(held.client, PKCE()))
        #expect(again.isLoginPage, "the session survived: \(again.status)")
    }

    @Test("users disable revokes the user's token families, outstanding codes and sessions")
    func disableRevokesEverything() async throws {
        try await TestAuthServer.run { server in
            var held = try await Self.holdings(server)
            #expect(try await Self.introspect(server, held) == true)
            let result = try await Self.admin("users", "disable", held.user.username)
            #expect(result.stdout.contains("revoked"))
            try await Self.expectAllRevoked(server, &held)
        }
    }

    @Test("users set-password revokes like disable; the new password works")
    func setPasswordRevokesEverything() async throws {
        try await TestAuthServer.run { server in
            var held = try await Self.holdings(server)
            _ = try await Self.admin("users", "set-password", held.user.username, "--password-stdin",
                                     stdin: "a completely new password\n")
            try await Self.expectAllRevoked(server, &held)
            let audit = try await server.count(
                "SELECT count(*)::int FROM audit_events WHERE kind = 'password_changed' AND username = \(held.user.username) AND detail->>'revoked' = 'true'")
            #expect(audit == 1)
        }
    }

    @Test("users create --update-existing on an existing user revokes like set-password")
    func createUpdateExistingRevokesEverything() async throws {
        try await TestAuthServer.run { server in
            var held = try await Self.holdings(server)
            let result = try await Self.admin("users", "create", held.user.username, "--password-stdin", "--update-existing",
                                              stdin: "a completely new password\n")
            #expect(result.stdout.contains("changed the password") && result.stdout.contains("revoked"), "\(result)")
            try await Self.expectAllRevoked(server, &held)
        }
    }

    @Test("users set-password --keep-sessions changes only the password")
    func setPasswordKeepSessions() async throws {
        try await TestAuthServer.run { server in
            var held = try await Self.holdings(server)
            _ = try await Self.admin("users", "set-password", held.user.username, "--password-stdin", "--keep-sessions",
                                     stdin: "a completely new password\n")
            #expect(try await Self.introspect(server, held) == true)
            #expect(try await server.isRevoked(jti: held.tokens.jti) == false)
            #expect(try await server.refresh(held.tokens.refreshToken, client: held.client).status == .ok)
            let exchanged = try await server.exchange(held.pendingCode, client: held.client, verifier: held.pendingPKCE.verifier)
            #expect(exchanged.status == .ok, "\(exchanged.body)")
            let again = try await held.browser.authorize(server.authorizeParameters(held.client, PKCE()))
            #expect(!again.isLoginPage)
        }
    }

    @Test("A code exchanged while the user is being disabled never yields a live token")
    func disableRacesTheCodeExchange() async throws {
        try await TestAuthServer.run(.live) { server in
            for _ in 0..<4 {
                let user = try await server.createUser(prefix: "race")
                let client = try await server.registerClient()
                var browser = Browser(server)
                let pkce = PKCE()
                let code = try await server.obtainCode(as: user, client, pkce, browser: &browser)
                async let exchange = server.postFormOnNewConnection("/token", [
                    ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", client.redirectURI),
                    ("code_verifier", pkce.verifier), ("client_id", client.id),
                ])
                async let disabled = server.environment.users.setDisabled(user.username, true)
                let (reply, found) = try await (exchange, disabled)
                #expect(found)
                if reply.status == .ok {
                    let tokens = IssuedTokens(reply: reply)
                    #expect(try await server.isRevoked(jti: tokens.jti), "a token survived the disable")
                    Refused.expectRefused(try await server.refresh(tokens.refreshToken, client: client), "invalid_grant")
                } else {
                    Refused.expectRefused(reply, "invalid_grant")
                }
            }
        }
    }
}
