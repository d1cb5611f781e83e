import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `users grants U` and `users revoke-grants U [--client C]` (issue 13 item 4, the operator's
/// side), through the real binary against the running server's database.
@Suite struct UserGrantsCommandTests {
    typealias Refused = AuthorizationCodeGrantTests

    static func grants(_ username: String) async throws -> [[String: Any]] {
        let listed = try await UserRevocationTests.admin("users", "grants", username, "--json")
        return try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
    }

    @Test("grants lists each app's live access; revoke-grants --client ends one app's and leaves the other's")
    func listAndRevokePerClient() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(prefix: "grants")
            // An https redirect, so consent is remembered (loopback redirects are asked every time).
            let first = try await server.registerClient(authMethod: "none", ["redirect_uris": ["https://app.example.com/callback"]])
            let second = try await server.registerClient()
            var browser = Browser(server)
            let firstTokens = try await server.issueTokens(as: user, first, browser: &browser, changes: ["scope": "notes:read"])
            let secondTokens = try await server.issueTokens(as: user, second, browser: &browser, changes: ["scope": "notes:read"])

            let listed = try await Self.grants(user.username)
            #expect(Set(listed.compactMap { $0["client_id"] as? String }) == [first.id, second.id])
            #expect(listed.allSatisfy { ($0["scope"] as? String)?.contains("notes:read") == true && $0["families"] as? String == "1" })

            let remembered = try await browser.authorize(server.authorizeParameters(first, PKCE(), changes: ["scope": "notes:read"]))
            #expect(!remembered.isConsentPage && remembered.status == .seeOther, "\(remembered.status)")

            let revoked = try await UserRevocationTests.admin("users", "revoke-grants", user.username, "--client", first.id)
            #expect(revoked.stdout.contains("revoked 1 grant of user \(user.username.lowercased()) for client \(first.id)"))
            Refused.expectRefused(try await server.refresh(firstTokens.refreshToken, client: first), "invalid_grant")
            #expect(try await server.isRevoked(jti: firstTokens.jti))
            #expect(try await server.isRevoked(jti: secondTokens.jti) == false)
            let refreshed = try await server.refresh(secondTokens.refreshToken, client: second)
            #expect(refreshed.status == .ok, "\(refreshed.body)")
            #expect(try await Self.grants(user.username).compactMap { $0["client_id"] as? String } == [second.id])
            // The remembered consent went with the grant: the app has to ask the person again.
            let again = try await browser.authorize(server.authorizeParameters(first, PKCE(), changes: ["scope": "notes:read"]))
            #expect(again.isConsentPage, "\(again.status)")

            let all = try await UserRevocationTests.admin("users", "revoke-grants", user.username)
            #expect(all.stdout.contains("revoked 1 grant of user"))
            #expect(try await Self.grants(user.username).isEmpty)
            let audit = try await UserRevocationTests.admin("audit", "list", "--kind", "token_family_revoked", "--json")
            #expect(audit.stdout.contains(user.username.lowercased()))
        }
    }

    @Test("an unknown user is a clear error, for both commands")
    func unknownUser() async throws {
        let fixture = try await AuthServerFixture.shared()
        for arguments in [["users", "grants", "nobody-here"], ["users", "revoke-grants", "nobody-here", "--client", "x"]] {
            let result = try await AdminProcess.run(arguments, environment: ["DATABASE_URL": fixture.databaseURL])
            #expect(result.status != 0 && result.stderr.contains("no user named \"nobody-here\""), "\(result)")
        }
    }
}
