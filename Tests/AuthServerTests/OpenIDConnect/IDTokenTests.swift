import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// OpenID Connect Core §3.1 (authorization code flow): the ID token from `POST /token`.
@Suite struct IDTokenTests {
    static let profile = UserProfile(email: "alice@example.com", name: "Alice Liddell", emailVerified: true)

    @Test("OIDC Core §2, §3.1.3.6: openid+email+profile with a nonce gives an ID token verifiable with our JWKS")
    func idTokenClaims() async throws {
        try await TestAuthServer.run(.live) { server in
            let user = try await server.createUser(Self.profile)
            let client = try await server.registerClient(["scope": "openid profile email notes:read notes:write"])
            var browser = Browser(server)
            let signedInAt = server.clock.seconds
            let tokens = try await server.issueTokens(as: user, client, browser: &browser, changes: [
                "scope": "openid email profile notes:read", "nonce": "n-0S6_WzA2Mj",
            ])
            #expect(tokens.scope == "openid profile email notes:read")
            let idToken = try #require(tokens.idToken, "no id_token in \(tokens.reply.body)")
            let (claims, json, _) = try await server.verifiedIDToken(idToken)
            let now = server.clock.seconds
            #expect(claims.iss == server.issuer)
            #expect(claims.aud == client.id)
            #expect(claims.sub == user.id.uuidString.lowercased())
            #expect(claims.nonce == "n-0S6_WzA2Mj")
            #expect(claims.auth_time == signedInAt)
            #expect(claims.iat == now && claims.exp == now + 3600)
            // §3.1.3.6, recomputed here: the left half of SHA-256 over the access token's ASCII.
            let digest = Digest.sha256(Array(tokens.accessToken.utf8))
            #expect(claims.at_hash == Base64URL.encode(Array(digest[0..<16])))
            #expect(json["email"] as? String == "alice@example.com")
            #expect(json["email_verified"] as? Bool == true)
            #expect(json["name"] as? String == "Alice Liddell")
            #expect(json["preferred_username"] as? String == user.username)

            // The access token is still one for the MCP resource: same sub, aud = the resource,
            // and the resource scopes the tools check are there beside openid.
            let access = try JWTParser.parse(tokens.accessToken, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
            #expect(access.aud == .one(server.resource) && access.sub == claims.sub)
            #expect(ScopeSet(access.scope).contains("notes:read") && ScopeSet(access.scope).contains("openid"))
        }
    }

    @Test("Interop: python joserfc verifies the ID token with our JWKS and recomputes at_hash")
    func joserfcVerifiesTheIDToken() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser(Self.profile)
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(as: user, client, browser: &browser, changes: [
                "scope": "openid email notes:read", "nonce": "interop-nonce",
            ])
            let idToken = try #require(tokens.idToken)
            let (claims, _, jwks) = try await server.verifiedIDToken(idToken)
            let result = try PythonCheck.run(Self.joserfcCheck, files: [
                "id_token": idToken, "jwks.json": jwks, "access_token": tokens.accessToken,
            ])
            try #require(result.status == 0, "joserfc refused the ID token: \(result.stderr)")
            let out = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
            let theirs = try #require(out["claims"] as? [String: Any])
            #expect((out["header"] as? [String: Any])?["typ"] as? String == "JWT")
            #expect(theirs["iss"] as? String == server.issuer && theirs["aud"] as? String == client.id)
            #expect(theirs["sub"] as? String == user.id.uuidString.lowercased())
            #expect(theirs["nonce"] as? String == "interop-nonce")
            #expect(theirs["auth_time"] as? Int == claims.auth_time)
            #expect(theirs["at_hash"] as? String == out["at_hash"] as? String)
            #expect(theirs["email"] as? String == "alice@example.com")
            // `profile` was not granted: no name claims.
            #expect(theirs["name"] == nil && theirs["preferred_username"] == nil)
        }
    }

    static let joserfcCheck = #"""
import base64, hashlib, json, sys
from joserfc import jwt
from joserfc.jwk import KeySet
token = open("id_token").read().strip()
access = open("access_token").read().strip()
keys = KeySet.import_key_set(json.load(open("jwks.json")))
decoded = jwt.decode(token, keys, algorithms=["RS256"])
jwt.JWTClaimsRegistry(leeway=60, iss={"essential": True}, sub={"essential": True}, aud={"essential": True},
                      exp={"essential": True}, iat={"essential": True}).validate(decoded.claims)
left = hashlib.sha256(access.encode("ascii")).digest()[:16]
print(json.dumps({"header": decoded.header, "claims": decoded.claims,
                  "at_hash": base64.urlsafe_b64encode(left).rstrip(b"=").decode("ascii")}))
"""#

    @Test("OIDC Core §2: auth_time is when the person signed in, not when a later code was issued")
    func authTimeIsTheSignInTime() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser()
            let client = try await server.registerClient()
            var browser = Browser(server)
            let signedInAt = server.clock.seconds
            _ = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid"])
            server.clock.advance(seconds: 600)
            // The same browser session: no password this time.
            let later = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid"])
            let (claims, json, _) = try await server.verifiedIDToken(try #require(later.idToken))
            #expect(claims.auth_time == signedInAt)
            #expect(claims.iat == signedInAt + 600)
            // No nonce asked, none echoed; no email or profile scope, no such claims.
            #expect(json["nonce"] == nil && json["email"] == nil && json["name"] == nil)
        }
    }

    @Test("OIDC Core §3.1.2.1: without openid there is no ID token (and refresh never issues one)")
    func noIDTokenWithoutOpenID() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(tokens.reply.json["id_token"] == nil)
            #expect(tokens.scope == "notes:read notes:write")

            let user = try await server.createUser()
            let oidc = try await server.issueTokens(as: user, client, browser: &browser, changes: ["scope": "openid notes:read"])
            #expect(oidc.idToken != nil)
            let refreshed = try await server.refresh(oidc.refreshToken, client: client)
            #expect(refreshed.status == .ok && refreshed.json["id_token"] == nil)
            #expect(refreshed.json["scope"] as? String == "openid notes:read")
        }
    }

    @Test("OIDC Core §3.1.2.1: a repeated or oversized nonce is invalid_request at the redirect URI")
    func badNonceIsRefused() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var parameters = server.authorizeParameters(client, PKCE(), changes: ["scope": "openid"])
            var browser = Browser(server)
            _ = try await browser.approve(server.authorizeParameters(client, PKCE()))  // signed in: errors may redirect
            let long = try await browser.authorize(parameters + [("nonce", String(repeating: "n", count: 513))])
            #expect(long.status == .seeOther && long.redirectParameters["error"] == "invalid_request", "\(long.location ?? long.body)")
            parameters += [("nonce", "one"), ("nonce", "two")]
            let repeated = try await browser.authorize(parameters)
            #expect(repeated.status == .seeOther && repeated.redirectParameters["error"] == "invalid_request")
        }
    }

    @Test("The consent page names what the OpenID scopes reveal")
    func consentWording() async throws {
        try await TestAuthServer.run { server in
            let user = try await server.createUser()
            let client = try await server.registerClient()
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["scope": "openid email profile"]))
            let consent = try await browser.login(from: page, username: user.username)
            #expect(consent.isConsentPage)
            #expect(consent.body.contains("See your email address") && consent.body.contains("See your name and username"))
        }
    }

    @Test("OIDC Discovery §3: userinfo_endpoint, claims_supported and the OpenID scopes are advertised")
    func discovery() async throws {
        try await TestAuthServer.run { server in
            let json = try await server.get("/.well-known/openid-configuration").json
            #expect(json["userinfo_endpoint"] as? String == server.issuer + "/userinfo")
            #expect(json["id_token_signing_alg_values_supported"] as? [String] == ["RS256"])
            let scopes = try #require(json["scopes_supported"] as? [String])
            #expect(["openid", "profile", "email", "notes:read", "notes:write"].allSatisfy(scopes.contains))
            let claims = try #require(json["claims_supported"] as? [String])
            #expect(["sub", "iss", "auth_time", "nonce", "at_hash", "email", "email_verified", "name"].allSatisfy(claims.contains))
        }
    }
}
