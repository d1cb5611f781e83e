import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// `POST /revoke` (RFC 7009) and `POST /introspect` (RFC 7662).
@Suite(.serialized) struct RevocationIntrospectionTests {
    typealias Refused = AuthorizationCodeGrantTests

    func revoke(_ server: TestAuthServer, _ token: String, client: RegisteredClient, hint: String? = nil) async throws -> Reply {
        var fields = [("token", token)]
        if let hint { fields.append(("token_type_hint", hint)) }
        return try await server.tokenRequest(fields, client: client, path: "/revoke")
    }

    func introspect(_ server: TestAuthServer, _ token: String, client: RegisteredClient) async throws -> Reply {
        try await server.tokenRequest([("token", token)], client: client, path: "/introspect")
    }

    @Test("RFC 7009 §2.1: revoking a refresh token revokes its whole family, over real HTTP")
    func revokeRefreshTokenRevokesFamily() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)
            let second = IssuedTokens(reply: try await server.refresh(first.refreshToken, client: client))
            let reply = try await revoke(server, second.refreshToken, client: client, hint: "refresh_token")
            #expect(reply.status == .ok && reply.headers[.cacheControl] == "no-store")
            #expect(try await server.revokedTokenFamilies(of: client.id) == 1)
            Refused.expectRefused(try await server.refresh(second.refreshToken, client: client), "invalid_grant")
            // Every access token of the family is now refused by the resource servers.
            #expect(try await server.isRevoked(jti: first.jti))
            #expect(try await server.isRevoked(jti: second.jti))
            // Revoking again is still 200.
            #expect(try await revoke(server, second.refreshToken, client: client).status == .ok)
        }
    }

    @Test("RFC 7009 §2.1: revoking an access token records its jti for the resource servers")
    func revokeAccessToken() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(try await !server.isRevoked(jti: tokens.jti))
            #expect(try await revoke(server, tokens.accessToken, client: client, hint: "access_token").status == .ok)
            #expect(try await server.isRevoked(jti: tokens.jti))
            // The refresh token lives on: revoking one access token does not end the grant.
            #expect(try await server.refresh(tokens.refreshToken, client: client).status == .ok)
        }
    }

    @Test("RFC 7009 §2.2: an unknown token is 200; another client's token is 200 and left alone")
    func unknownAndForeignTokens() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            let other = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(try await revoke(server, "no-such-token", client: client).status == .ok)
            #expect(try await revoke(server, "a.b.c", client: client, hint: "access_token").status == .ok)

            #expect(try await revoke(server, tokens.refreshToken, client: other).status == .ok)
            #expect(try await revoke(server, tokens.accessToken, client: other).status == .ok)
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
            #expect(try await !server.isRevoked(jti: tokens.jti))
            #expect(try await server.refresh(tokens.refreshToken, client: client).status == .ok)
        }
    }

    @Test("RFC 7009 §2.2.1: an unknown token_type_hint is unsupported_token_type; revocation needs client authentication")
    func badHintAndClientAuthentication() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            Refused.expectRefused(try await revoke(server, tokens.refreshToken, client: client, hint: "id_token"), "unsupported_token_type")
            let confidential = try await server.registerClient(authMethod: "client_secret_basic")
            let forged = RegisteredClient(id: confidential.id, secret: "wrong", redirectURI: "", authMethod: "client_secret_basic")
            Refused.expectRefused(try await revoke(server, tokens.refreshToken, client: forged), "invalid_client", status: .unauthorized)
            Refused.expectRefused(try await server.postForm("/revoke", [("token", tokens.refreshToken)]), "invalid_client",
                                  status: .unauthorized)
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
        }
    }

    @Test("RFC 7662 §2.1: a public client may not introspect")
    func publicClientCannotIntrospect() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let reply = try await introspect(server, tokens.accessToken, client: client)
            Refused.expectRefused(reply, "invalid_client", status: .unauthorized)
            #expect(reply.json["active"] == nil)
        }
    }

    @Test("RFC 7662 §2.2: a confidential client sees active true for a live token, false once revoked or for garbage")
    func confidentialClientIntrospects() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient(authMethod: "client_secret_basic")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let live = try await introspect(server, tokens.accessToken, client: client)
            #expect(live.status == .ok && live.headers[.cacheControl] == "no-store")
            #expect(live.json["active"] as? Bool == true)
            #expect(live.json["client_id"] as? String == client.id)
            #expect(live.json["scope"] as? String == "notes:read notes:write")
            #expect(live.json["aud"] as? String == server.resource && live.json["iss"] as? String == server.issuer)
            #expect(live.json["jti"] as? String == tokens.jti && live.json["exp"] is Int)

            let refresh = try await introspect(server, tokens.refreshToken, client: client)
            #expect(refresh.json["active"] as? Bool == true && refresh.json["token_type"] as? String == "refresh_token")

            #expect(try await revoke(server, tokens.accessToken, client: client).status == .ok)
            let revoked = try await introspect(server, tokens.accessToken, client: client)
            #expect(revoked.status == .ok && revoked.json["active"] as? Bool == false)
            #expect(revoked.json.count == 1, "an inactive answer says nothing else: \(revoked.body)")

            for garbage in ["garbage", "a.b.c", String(repeating: "x", count: 5000)] {
                let reply = try await introspect(server, garbage, client: client)
                #expect(reply.status == .ok && reply.json["active"] as? Bool == false, "\(garbage.prefix(10))")
            }
        }
    }

    @Test("RFC 7662 §4: another client's token is active:false to a self-registered client, described to a configured resource server")
    func onlyConfiguredResourceServersIntrospectOthersTokens() async throws {
        // Registered first, so the operator can name its client_id in the configuration.
        let resourceServer = try await TestAuthServer.run { server in
            try await server.registerClient(authMethod: "client_secret_basic")
        }
        try await TestAuthServer.run(overrides: ["GATEHOUSE_INTROSPECTION_CLIENTS": "some-other-rs, \(resourceServer.id)"]) { server in
            let owner = try await server.registerClient()
            let stranger = try await server.registerClient(authMethod: "client_secret_post")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(owner, browser: &browser)

            for token in [tokens.accessToken, tokens.refreshToken] {
                let refused = try await introspect(server, token, client: stranger)
                #expect(refused.status == .ok && refused.json["active"] as? Bool == false)
                #expect(refused.json.count == 1, "an inactive answer says nothing else: \(refused.body)")
            }

            let described = try await introspect(server, tokens.accessToken, client: resourceServer)
            #expect(described.status == .ok && described.json["active"] as? Bool == true, "\(described.body)")
            #expect(described.json["client_id"] as? String == owner.id && described.json["jti"] as? String == tokens.jti)
            #expect(described.json["scope"] as? String == "notes:read notes:write" && described.json["sub"] is String)
            // Refresh tokens never reach a resource server: they stay the owner's business.
            let refresh = try await introspect(server, tokens.refreshToken, client: resourceServer)
            #expect(refresh.status == .ok && refresh.json["active"] as? Bool == false)
        }
    }

    @Test("RFC 7662 §2.2: an expired access token is inactive")
    func expiredAccessTokenIsInactive() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(authMethod: "client_secret_post")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            server.clock.advance(seconds: 3601)
            let reply = try await introspect(server, tokens.accessToken, client: client)
            #expect(reply.status == .ok && reply.json["active"] as? Bool == false)
        }
    }
}
