import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// `grant_type=authorization_code` (OAuth 2.1 §4.1.3) through `POST /token`.
@Suite(.serialized) struct AuthorizationCodeGrantTests {
    static func expectRefused(_ reply: Reply, _ error: String, status: HTTPResponse.Status = .badRequest, _ comment: Comment? = nil,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == status, "\(reply.body) \(comment?.rawValue ?? "")", sourceLocation: sourceLocation)
        #expect(reply.error == error, "\(reply.body) \(comment?.rawValue ?? "")", sourceLocation: sourceLocation)
        #expect(reply.json["access_token"] == nil && reply.json["refresh_token"] == nil, sourceLocation: sourceLocation)
        #expect(reply.headers[.cacheControl] == "no-store", sourceLocation: sourceLocation)
    }

    @Test("RFC 6749 §5.1 and RFC 9068 §2.2: the token response and a verifiable at+jwt access token, over real HTTP")
    func successShapeAndAccessToken() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let json = tokens.reply.json
            #expect(json["token_type"] as? String == "Bearer")
            #expect(json["expires_in"] as? Int == 3600)
            #expect(tokens.refreshToken.count >= 43)
            #expect(json["scope"] as? String == "notes:read notes:write")
            #expect(tokens.reply.headers[.cacheControl] == "no-store")
            #expect(tokens.reply.headers[.pragma] == "no-cache")

            let jwt = try JWTParser.parse(tokens.accessToken, expectedType: "at+jwt")
            #expect(jwt.header.typ == "at+jwt")
            let kid = try #require(jwt.header.kid)
            let jwks = try JSONDecoder().decode(JWKS.self, from: Data(try await server.get("/jwks.json").body.utf8))
            try jwt.verifySignature(with: try RSAKey(publicJWK: try #require(jwks.key(withID: kid))))
            let claims = try jwt.decodePayload(AccessTokenClaims.self)
            let now = Int(server.clock.now.timeIntervalSince1970)
            #expect(claims.iss == server.issuer)
            #expect(claims.aud == .one(server.resource))
            #expect(claims.client_id == client.id)
            #expect(claims.scope == "notes:read notes:write")
            #expect(claims.iat == now && claims.exp == now + 3600)
            #expect(claims.jti.count >= 16)
            let user = try #require(try await server.environment.users.find(username: server.username))
            #expect(claims.sub == user.id.uuidString.lowercased())
            try claims.validate(issuer: server.issuer, audience: server.resource, now: now)
        }
    }

    @Test("OAuth 2.1 §4.1.3 / RFC 7636 §4.6: a wrong or missing code_verifier is invalid_grant and burns the code")
    func pkceIsEnforced() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            Self.expectRefused(try await server.exchange(code, client: client, verifier: PKCE().verifier), "invalid_grant")
            // Burnt: even the right verifier no longer works.
            Self.expectRefused(try await server.exchange(code, client: client, verifier: pkce.verifier), "invalid_grant")

            let second = try await server.obtainCode(client, pkce, browser: &browser)
            Self.expectRefused(try await server.exchange(second, client: client, verifier: nil), "invalid_grant", "no verifier")
            let third = try await server.obtainCode(client, pkce, browser: &browser)
            Self.expectRefused(try await server.exchange(third, client: client, verifier: "short"), "invalid_grant", "malformed verifier")
            #expect(try await server.tokenFamilies(of: client.id) == 0)
        }
    }

    @Test("OAuth 2.1 §4.1.2: a replayed code is refused and the tokens issued from it are revoked")
    func codeReplayRevokesTheFirstTokens() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            let first = IssuedTokens(reply: try await server.exchange(code, client: client, verifier: pkce.verifier))
            #expect(first.reply.status == .ok)
            Self.expectRefused(try await server.exchange(code, client: client, verifier: pkce.verifier), "invalid_grant")
            #expect(try await server.isRevoked(jti: first.jti))
            Self.expectRefused(try await server.refresh(first.refreshToken, client: client), "invalid_grant")
            #expect(try await server.count(
                "SELECT count(*)::int FROM audit_events WHERE kind = 'code_replay_detected' AND client_id = \(client.id)") == 1)
        }
    }

    @Test("OAuth 2.1 §4.1.2: a code expires after 60 seconds")
    func expiredCode() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            server.clock.advance(seconds: 61)
            Self.expectRefused(try await server.exchange(code, client: client, verifier: pkce.verifier), "invalid_grant")
            #expect(try await server.tokenFamilies(of: client.id) == 0)
        }
    }

    @Test("OAuth 2.1 §4.1.3: redirect_uri must be identical; a code is only for the client it was issued to")
    func redirectAndClientBinding() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(["redirect_uris": ["http://127.0.0.1:33418/callback", "http://127.0.0.1:33418/b"]])
            let other = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            Self.expectRefused(try await server.exchange(code, client: other, verifier: pkce.verifier), "invalid_grant", "other client")
            Self.expectRefused(try await server.exchange(code, client: client, verifier: pkce.verifier,
                                                         redirectURI: "http://127.0.0.1:33418/b"), "invalid_grant", "other redirect")
            let second = try await server.obtainCode(client, pkce, browser: &browser)
            let missing = try await server.tokenRequest(
                [("grant_type", "authorization_code"), ("code", second), ("code_verifier", pkce.verifier)], client: client)
            Self.expectRefused(missing, "invalid_grant", "redirect_uri missing although the request had one")
            #expect(try await server.tokenFamilies(of: client.id) == 0)
            #expect(try await server.tokenFamilies(of: other.id) == 0)
        }
    }

    @Test("OAuth 2.1 §4.1.3: redirect_uri may be omitted at the token endpoint when the authorization request omitted it")
    func redirectURIOptionalWhenOmittedAtAuthorize() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser, changes: ["redirect_uri": nil])
            let reply = try await server.tokenRequest(
                [("grant_type", "authorization_code"), ("code", code), ("code_verifier", pkce.verifier)], client: client)
            #expect(reply.status == .ok, "\(reply.body)")
        }
    }

    @Test("RFC 8707 §2.2: a token request for another resource is invalid_target")
    func wrongResource() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            let reply = try await server.exchange(code, client: client, verifier: pkce.verifier,
                                                  extra: [("resource", "https://other.example.com/mcp")])
            Self.expectRefused(reply, "invalid_target")
            let ok = try await server.obtainCode(client, pkce, browser: &browser)
            let same = try await server.exchange(ok, client: client, verifier: pkce.verifier, extra: [("resource", server.resource)])
            #expect(same.status == .ok)
        }
    }

    @Test("RFC 6749 §5.2: an unknown client, or a confidential client with a wrong secret, is 401 invalid_client")
    func clientAuthenticationFailures() async throws {
        try await TestAuthServer.run { server in
            let unknown = RegisteredClient(id: "no-such-client", secret: nil, redirectURI: "x", authMethod: "none")
            Self.expectRefused(try await server.exchange("abc", client: unknown, verifier: PKCE().verifier), "invalid_client",
                               status: .unauthorized)
            let basic = try await server.registerClient(authMethod: "client_secret_basic")
            let wrongBasic = RegisteredClient(id: basic.id, secret: "wrong", redirectURI: basic.redirectURI, authMethod: basic.authMethod)
            let reply = try await server.exchange("abc", client: wrongBasic, verifier: PKCE().verifier)
            Self.expectRefused(reply, "invalid_client", status: .unauthorized)
            #expect(reply.headers[.wwwAuthenticate]?.hasPrefix("Basic") == true)
            let post = try await server.registerClient(authMethod: "client_secret_post")
            let wrongPost = RegisteredClient(id: post.id, secret: "wrong", redirectURI: post.redirectURI, authMethod: post.authMethod)
            Self.expectRefused(try await server.exchange("abc", client: wrongPost, verifier: nil), "invalid_client", status: .unauthorized)
            // A secret client that sends no secret at all.
            let bare = RegisteredClient(id: post.id, secret: nil, redirectURI: post.redirectURI, authMethod: "none")
            Self.expectRefused(try await server.exchange("abc", client: bare, verifier: nil), "invalid_client", status: .unauthorized)
        }
    }

    @Test("RFC 6749 §2.3.1: client_secret_basic and client_secret_post clients get tokens")
    func confidentialClientsSucceed() async throws {
        try await TestAuthServer.run { server in
            var browser = Browser(server)
            for method in ["client_secret_basic", "client_secret_post"] {
                let client = try await server.registerClient(authMethod: method)
                let tokens = try await server.issueTokens(client, browser: &browser)
                #expect(tokens.reply.json["token_type"] as? String == "Bearer", "\(method)")
            }
        }
    }

    @Test("RFC 6749 §5.2: missing grant_type, unsupported grant, and non-form bodies are refused before anything else")
    func malformedRequests() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            Self.expectRefused(try await server.tokenRequest([("code", "abc")], client: client), "invalid_request")
            Self.expectRefused(try await server.tokenRequest([("grant_type", "password")], client: client), "unsupported_grant_type")
            Self.expectRefused(try await server.tokenRequest([("grant_type", "client_credentials")], client: client),
                               "unsupported_grant_type")
            let json = try await server.send(.post, "/token", headers: [.contentType: "application/json"],
                                             body: #"{"grant_type":"authorization_code","code":"abc","client_id":"\#(client.id)"}"#)
            Self.expectRefused(json, "invalid_request")
            let repeated = try await server.tokenRequest(
                [("grant_type", "authorization_code"), ("grant_type", "authorization_code"), ("code", "abc")], client: client)
            Self.expectRefused(repeated, "invalid_request")
        }
    }
}
