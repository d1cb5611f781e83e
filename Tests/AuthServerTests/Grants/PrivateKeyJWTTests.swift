import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// `private_key_jwt` client authentication (RFC 7523 §2.2, §3), end to end: ChatGPT's client
/// metadata document and its JWKS served over real HTTP (loopback, allowed by
/// GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK), assertions signed with real keys through OpenSSL.
@Suite struct PrivateKeyJWTTests {
    @Test("Issue 9 A.1: ChatGPT's document (private_key_jwt, jwks_uri) signs in; RS256 assertions get tokens and refreshes")
    func chatGPTDocument() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let client = try docs.publishChatGPT(key: try ClientKeyPair(.rs256))
            let reply = try await server.issueTokens(client)
            try #require(reply.status == .ok, "token exchange failed: \(reply.body)")
            let tokens = IssuedTokens(reply: reply)
            let claims = try JWTParser.parse(tokens.accessToken, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
            #expect(claims.client_id == client.id)
            let refreshed = try await server.postToken([("grant_type", "refresh_token"), ("refresh_token", tokens.refreshToken)],
                                                       as: client, assertion: try client.assertion(now: server.clock.seconds))
            #expect(refreshed.status == .ok, "\(refreshed.body)")
            #expect(docs.requests(docs.jwksPath(of: client)) == 1, "the JWKS is cached")
            let stored = try #require(try await server.environment.clients.list().first { $0.clientID == client.id })
            #expect(stored.authMethod == .privateKeyJWT && !stored.isPublic && stored.jwksURI?.hasSuffix("/jwks.json") == true)
        }
    }

    @Test("RFC 7518 §3.4, §3.5: PS256 and ES256 assertions verify too", arguments: [JWSAlgorithm.ps256, .es256])
    func otherAlgorithms(_ algorithm: JWSAlgorithm) async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let client = try docs.publishChatGPT(key: try ClientKeyPair(algorithm))
            let reply = try await server.issueTokens(client)
            #expect(reply.status == .ok, "\(algorithm): \(reply.body)")
        }
    }

    @Test("RFC 7523 §3: a bad, replayed or missing assertion is 401 invalid_client, never a downgrade to none")
    func refusedAssertions() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let client = try docs.publishChatGPT(key: try ClientKeyPair(.rs256))
            let now = server.clock.seconds
            let other = try ClientKeyPair(.rs256, kid: client.key.kid)
            let grant = [("grant_type", "authorization_code"), ("code", "no-such-code"), ("redirect_uri", client.redirectURI),
                         ("code_verifier", PKCE().verifier)]
            let header = Base64URL.encode(Data(#"{"alg":"none","typ":"JWT"}"#.utf8))
            let payload = Base64URL.encode(try JSONSerialization.data(withJSONObject: client.claims(now: now)))
            let hmacHeader = Base64URL.encode(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
            let hmac = Base64URL.encode(Digest.hmacSHA256(key: Array("secret".utf8), message: Array("\(hmacHeader).\(payload)".utf8)))
            let cases: [(String, [(String, String)], String)] = [
                ("wrong key", client.fields(try client.assertion(now: now, signer: other)), "signature"),
                ("expired", client.fields(try client.assertion(now: now, changes: ["exp": now - 120, "iat": now - 240])), "expired"),
                ("exp too far ahead", client.fields(try client.assertion(now: now, changes: ["exp": now + 3600])), "ahead"),
                ("no exp", client.fields(try client.assertion(now: now, changes: ["exp": nil])), "exp"),
                ("no jti", client.fields(try client.assertion(now: now, changes: ["jti": nil])), "jti"),
                ("NUL in jti", client.fields(try client.assertion(now: now, changes: ["jti": "a\u{0}b"])), "jti"),
                ("NUL in client_id", [("client_id", client.id + "\u{0}"), ("client_assertion_type", AssertionClient.assertionType),
                                      ("client_assertion", try client.assertion(now: now))], "unknown client"),
                ("wrong aud", client.fields(try client.assertion(now: now, changes: ["aud": "https://elsewhere.example/token"])), "aud"),
                ("iss is not sub", client.fields(try client.assertion(now: now, changes: ["iss": "https://evil.example/c.json"])), "iss"),
                ("sub is another client", client.fields(try client.assertion(now: now, changes: ["sub": "someone-else"])), "sub"),
                ("alg none", client.fields("\(header).\(payload)."), "algorithm"),
                ("alg HS256", client.fields("\(hmacHeader).\(payload).\(hmac)"), "algorithm"),
                ("PS256 although the client registered RS256", client.fields(try ClientKeyPair(.ps256, kid: client.key.kid)
                    .sign(client.claims(now: now))), "algorithm"),
                ("wrong assertion type", [("client_id", client.id), ("client_assertion_type", "urn:example:other"),
                                          ("client_assertion", try client.assertion(now: now))], "client_assertion_type"),
                ("missing assertion", [("client_id", client.id)], "client_assertion is required"),
                ("a secret instead", [("client_id", client.id), ("client_secret", "guess")], "client_assertion is required"),
            ]
            for (name, fields, message) in cases {
                let reply = try await server.postForm("/token", grant + fields)
                #expect(reply.status == .unauthorized && reply.error == "invalid_client", "\(name): \(reply.status) \(reply.body)")
                #expect((reply.json["error_description"] as? String ?? "").contains(message), "\(name): \(reply.body)")
            }
            // A valid assertion passes authentication (the made-up code is then the problem) ...
            let valid = try client.assertion(now: now)
            let first = try await server.postForm("/token", grant + client.fields(valid))
            #expect(first.status == .badRequest && first.error == "invalid_grant", "\(first.body)")
            // ... once: its jti is spent, and a replay is refused.
            let replay = try await server.postForm("/token", grant + client.fields(valid))
            #expect(replay.status == .unauthorized && replay.error == "invalid_client", "\(replay.body)")
            #expect((replay.json["error_description"] as? String ?? "").contains("already used"))
            // client_id may be left out: the assertion's sub names the client (RFC 7521 §4.2).
            let withoutID = try await server.postForm("/token", grant + [
                ("client_assertion_type", AssertionClient.assertionType), ("client_assertion", try client.assertion(now: now))])
            #expect(withoutID.status == .badRequest && withoutID.error == "invalid_grant", "\(withoutID.body)")
        }
    }

    @Test("An unknown kid refetches the client's JWKS (key rotation), rate-limited")
    func keyRotation() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let client = try docs.publishChatGPT(key: try ClientKeyPair(.es256))
            #expect(try await server.issueTokens(client).status == .ok)
            let rotated = AssertionClient(id: client.id, redirectURI: client.redirectURI, key: try ClientKeyPair(.es256))
            docs.publish(docs.jwksPath(of: client), .init(body: try rotated.key.jwksJSON))
            server.clock.advance(seconds: 31)
            let reply = try await server.issueTokens(rotated)
            #expect(reply.status == .ok, "\(reply.body)")
            #expect(docs.requests(docs.jwksPath(of: client)) == 2)
            // Made-up kids right after do not refetch again.
            let stranger = try ClientKeyPair(.es256)
            let grant = [("grant_type", "refresh_token"), ("refresh_token", "x")]
            for _ in 0..<3 {
                let refused = try await server.postToken(grant, as: client, assertion: try client.assertion(now: server.clock.seconds, signer: stranger))
                #expect(refused.status == .unauthorized && refused.error == "invalid_client")
            }
            #expect(docs.requests(docs.jwksPath(of: client)) == 2)
        }
    }

    @Test("RFC 7591 §2: registered clients may use private_key_jwt with jwks or with jwks_uri; no secret is issued")
    func dynamicRegistration() async throws {
        try await TestAuthServer.run(documents: .loopbackAllowed) { server, docs in
            let inlineKey = try ClientKeyPair(.es256)
            let jwksPath = docs.uniquePath("jwks.json")
            let uriKey = try ClientKeyPair(.rs256)
            docs.publish(jwksPath, .init(body: try uriKey.jwksJSON))
            for (key, keys) in [(inlineKey, ["jwks": try inlineKey.jwksObject]), (uriKey, ["jwks_uri": docs.origin + jwksPath])] {
                var metadata = TestAuthServer.publicClientMetadata
                metadata["token_endpoint_auth_method"] = "private_key_jwt"
                metadata.merge(keys) { $1 }
                let registered = try await server.register(metadata)
                try #require(registered.status == .created, "\(registered.body)")
                #expect(registered.json["client_secret"] == nil)
                #expect(registered.json["token_endpoint_auth_method"] as? String == "private_key_jwt")
                let client = AssertionClient(id: try #require(registered.json["client_id"] as? String),
                                             redirectURI: "http://127.0.0.1:33418/callback", key: key)
                let reply = try await server.issueTokens(client)
                #expect(reply.status == .ok, "\(keys.keys): \(reply.body)")
                // The registered method holds: without an assertion there is no token.
                let bare = try await server.postForm("/token", [("grant_type", "refresh_token"), ("refresh_token", "x"),
                                                                ("client_id", client.id)])
                #expect(bare.status == .unauthorized && bare.error == "invalid_client")
            }
            #expect(docs.requests(jwksPath) == 1)
        }
    }

    @Test("RFC 7591 §2: private_key_jwt without keys, with both jwks and jwks_uri, or with an HMAC alg is 400")
    func invalidRegistrations() async throws {
        try await TestAuthServer.run { server in
            let key = try ClientKeyPair(.rs256)
            let cases: [(String, [String: Any])] = [
                ("no keys", [:]),
                ("both", ["jwks": try key.jwksObject, "jwks_uri": "https://client.example/jwks.json"]),
                ("HS256", ["jwks": try key.jwksObject, "token_endpoint_auth_signing_alg": "HS256"]),
                ("none alg", ["jwks": try key.jwksObject, "token_endpoint_auth_signing_alg": "none"]),
                ("not a JWKS", ["jwks": ["keys": "nope"]]),
                ("symmetric key", ["jwks": ["keys": [["kty": "oct", "k": "c2VjcmV0"]]]]),
                ("http jwks_uri", ["jwks_uri": "http://client.example/jwks.json"]),
            ]
            for (name, keys) in cases {
                var metadata = TestAuthServer.publicClientMetadata
                metadata["token_endpoint_auth_method"] = "private_key_jwt"
                metadata.merge(keys) { $1 }
                let reply = try await server.register(metadata)
                #expect(reply.status == .badRequest && reply.error == "invalid_client_metadata", "\(name): \(reply.body)")
            }
        }
    }

    @Test("RFC 8414 §2: private_key_jwt and its asymmetric algorithms are advertised")
    func advertised() async throws {
        try await TestAuthServer.run { server in
            let metadata = try await server.get("/.well-known/oauth-authorization-server").json
            #expect((metadata["token_endpoint_auth_methods_supported"] as? [String])?.contains("private_key_jwt") == true)
            #expect(metadata["token_endpoint_auth_signing_alg_values_supported"] as? [String] == ["RS256", "PS256", "ES256"])
        }
    }
}
