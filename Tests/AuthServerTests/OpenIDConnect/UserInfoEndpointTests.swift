import Foundation
import HTTPTypes
import Shared
import TestSupport
import Testing
@testable import AuthServer

/// `GET`/`POST /userinfo` (OpenID Connect Core §5.3) and its RFC 6750 §3 errors.
@Suite struct UserInfoEndpointTests {
    static func expectChallenge(_ reply: Reply, _ status: HTTPResponse.Status, _ error: String, inHeader: Bool = true,
                                sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, "\(reply.body)", sourceLocation: sourceLocation)
        #expect(reply.error == error, "\(reply.body)", sourceLocation: sourceLocation)
        let challenge = reply.headers[.wwwAuthenticate] ?? ""
        #expect(challenge.hasPrefix("Bearer"), "\(challenge)", sourceLocation: sourceLocation)
        #expect(challenge.contains("error=\"\(error)\"") == inHeader, "\(challenge)", sourceLocation: sourceLocation)
        #expect(reply.json["sub"] == nil, sourceLocation: sourceLocation)
    }

    @Test("OIDC Core §5.3.2: the claims of the granted scopes, by GET and by POST")
    func happyPath() async throws {
        try await TestAuthServer.run(.live) { server in
            let user = try await server.createUser(UserProfile(email: "bob@example.org", name: "Bob"))
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(as: user, client, browser: &browser,
                                                      changes: ["scope": "openid email profile notes:read"])
            for method in [HTTPRequest.Method.get, .post] {
                let reply = try await server.userInfo(tokens.accessToken, method: method)
                #expect(reply.status == .ok, "\(method) \(reply.body)")
                #expect(reply.headers[.contentType] == "application/json" && reply.headers[.cacheControl] == "no-store")
                #expect(reply.json["sub"] as? String == user.id.uuidString.lowercased())
                #expect(reply.json["email"] as? String == "bob@example.org")
                #expect(reply.json["email_verified"] as? Bool == false)
                #expect(reply.json["name"] as? String == "Bob")
                #expect(reply.json["preferred_username"] as? String == user.username)
            }
            // Only what was granted: openid alone is just the subject.
            let bare = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid"])
            let reply = try await server.userInfo(bare.accessToken)
            #expect(reply.status == .ok && reply.json.keys.sorted() == ["sub"], "\(reply.body)")
        }
    }

    @Test("RFC 6750 §3.1: no token is 401 with a bare Bearer challenge")
    func withoutToken() async throws {
        try await TestAuthServer.run { server in
            Self.expectChallenge(try await server.userInfo(nil), .unauthorized, "invalid_token", inHeader: false)
            let basic = try await server.send(.get, "/userinfo", headers: [.authorization: "Basic Zm9vOmJhcg=="])
            Self.expectChallenge(basic, .unauthorized, "invalid_token", inHeader: false)
        }
    }

    @Test("RFC 6750 §3.1: a garbage, foreign-signed or revoked token is 401 invalid_token")
    func invalidTokens() async throws {
        try await TestAuthServer.run { server in
            Self.expectChallenge(try await server.userInfo("garbage"), .unauthorized, "invalid_token")
            Self.expectChallenge(try await server.userInfo("a.b.c"), .unauthorized, "invalid_token", sourceLocation: #_sourceLocation)

            let user = try await server.createUser()
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid"])
            // Same claims, our kid, a key that is not ours.
            let parsed = try JWTParser.parse(tokens.accessToken, expectedType: "at+jwt")
            let claims = try parsed.decodePayload(AccessTokenClaims.self)
            let forged = try JWTSigner.sign(claims, key: TestKeys.attacker, keyID: parsed.header.kid ?? "",
                                            type: "at+jwt")
            Self.expectChallenge(try await server.userInfo(forged), .unauthorized, "invalid_token")
            // An ID token is not an access token.
            let idToken = try #require(tokens.idToken, "no id_token")
            Self.expectChallenge(try await server.userInfo(idToken), .unauthorized, "invalid_token")

            #expect(try await server.userInfo(tokens.accessToken).status == .ok)
            _ = try await server.tokenRequest([("token", tokens.accessToken)], client: client, path: "/revoke")
            Self.expectChallenge(try await server.userInfo(tokens.accessToken), .unauthorized, "invalid_token")

            let expiring = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid"])
            server.clock.advance(seconds: 3601)
            Self.expectChallenge(try await server.userInfo(expiring.accessToken), .unauthorized, "invalid_token")
        }
    }

    @Test("OIDC Core §5.3.3 / RFC 6750 §3.1: a token without openid is 403 insufficient_scope")
    func withoutOpenIDScope() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let reply = try await server.userInfo(tokens.accessToken)
            Self.expectChallenge(reply, .forbidden, "insufficient_scope")
            #expect(reply.headers[.wwwAuthenticate]?.contains("scope=\"openid\"") == true)
        }
    }

    @Test("RFC 6750 §2.3 is not supported: a query token alone is no token (bare 401), beside the header it is 400 invalid_request")
    func tokenInQuery() async throws {
        try await TestAuthServer.run { server in
            let alone = try await server.get("/userinfo?access_token=abc")
            #expect(alone.status == .unauthorized)
            #expect(alone.headers[.wwwAuthenticate] == #"Bearer realm="gatehouse""#)
            let both = try await server.get("/userinfo?access_token=abc", headers: [.authorization: "Bearer abc"])
            Self.expectChallenge(both, .badRequest, "invalid_request")
        }
    }
}
