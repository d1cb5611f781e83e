import Foundation
import TestSupport
import HTTPTypes
import Shared
import Testing
@testable import ResourceServer

/// Every reason the resource server refuses a token, each checked over real HTTP with the exact
/// RFC 6750 §3 challenge a client receives. Tokens are minted with local keys whose JWKS a stand-in
/// authorization server publishes.
@Suite("Token validation (RFC 9068 §4, RFC 6750 §3)")
struct TokenValidationTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let testDescription: String
        /// The `error_description` in the challenge.
        let expected: String
        let token: @Sendable (TokenMinter) -> String

        init(_ name: String, _ expected: String, _ token: @escaping @Sendable (TokenMinter) -> String) {
            self.testDescription = name
            self.expected = expected
            self.token = token
        }
    }

    static let rejections: [Case] = [
        Case("garbage", "malformed token: expected three dot-separated parts") { _ in "not-a-jwt" },
        Case("alg none", "unsupported signing algorithm") { $0.token(algorithm: "none") { _ in [0] } },
        Case("HS256 keyed with the RSA public key", "unsupported signing algorithm") { minter in
            let secret = Array(try! TestKeys.primary.publicKeyPEM().utf8)
            return minter.token(algorithm: "HS256") { Digest.hmacSHA256(key: secret, message: $0) }
        },
        Case("bad signature", "invalid signature") { minter in
            var forged = minter
            forged.key = TestKeys.attacker  // signs with another key but claims the published kid
            return forged.token()
        },
        Case("unknown kid", "unknown signing key") { minter in
            var other = minter
            other.keyID = "no-such-key"
            return other.token()
        },
        Case("wrong issuer", "wrong issuer") { minter in
            var other = minter
            other.issuer = "http://evil.example"
            return other.token()
        },
        Case("issuer with a trailing slash", "wrong issuer") { minter in
            var other = minter
            other.issuer += "/"
            return other.token()
        },
        Case("wrong audience", "token not intended for this resource") { minter in
            var other = minter
            other.audience = .one("http://localhost:8000/other")
            return other.token()
        },
        Case("audience with a trailing slash", "token not intended for this resource") { minter in
            var other = minter
            other.audience = .one("http://localhost:8000/mcp/")
            return other.token()
        },
        Case("expired beyond the 30 s leeway", "token expired") { minter in
            var other = minter
            other.issuedAt -= 400
            other.lifetime = 300 + 100 - 31  // exp = now - 31
            return other.token()
        },
        Case("nbf in the future beyond the leeway", "token not yet valid") { minter in
            var other = minter
            other.notBefore = minter.issuedAt + 60
            return other.token()
        },
        Case("exp - iat longer than GATEHOUSE_ACCESS_TOKEN_TTL (3600) plus the leeway", "token lifetime too long") { minter in
            var other = minter
            other.lifetime = 3_600 + 31
            return other.token()
        },
        Case("a long-lived token back-dated to look fresh", "token lifetime too long") { minter in
            var other = minter
            other.issuedAt -= 100
            other.lifetime = 86_400
            return other.token()
        },
        Case("typ JWT instead of at+jwt", "unexpected token type") { minter in
            var other = minter
            other.type = "JWT"
            return other.token()
        },
        Case("no typ check bypass via id+jwt", "unexpected token type") { minter in
            var other = minter
            other.type = "id+jwt"
            return other.token()
        },
    ]

    @Test("a refused token gets 401 invalid_token with a short description", arguments: rejections)
    func refused(_ rejection: Case) async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            let token = rejection.token(minter)
            let reply = try await client.request("tools/list", token: token)
            #expect(reply.status == .unauthorized)
            #expect(reply.challenge == """
                Bearer error="invalid_token", error_description="\(rejection.expected)", \
                resource_metadata="\(ResourceServerHarness.metadataURL)", scope="notes:read notes:write"
                """)
            #expect(!reply.body.contains(token))
        }
    }

    @Test("no token: 401 with resource_metadata and scope but no error code (RFC 6750 §3.1)")
    func missingToken() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let reply = try await client.request("tools/list", token: nil)
            #expect(reply.status == .unauthorized)
            #expect(reply.challenge == """
                Bearer resource_metadata="\(ResourceServerHarness.metadataURL)", scope="notes:read notes:write"
                """)
            let basic = try await client.request("tools/list", token: nil, headers: [.authorization: "Basic YTpi"])
            #expect(basic.status == .unauthorized)
            #expect(basic.challenge?.contains("error=") == false)
        }
    }

    /// Issue 9 C.15. RFC 6750 §3.1: an unsupported authentication method is answered like no
    /// authentication ("SHOULD NOT include an error code"); "more than one method" is invalid_request.
    @Test("a query-string token is never used: alone it gets the bare 401 challenge, beside the header 400 invalid_request (RFC 6750 §3.1)")
    func queryStringToken() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let token = TokenMinter(issuer: authorizationServer.issuer, clock: clock).token()
            let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
            let queries = ["access_token=\(token)", "x=1&access_token=\(token)", "%61ccess_token=\(token)", "access_token"]
            for query in queries {
                let alone = try await client.post(body: body, token: nil, path: "/mcp?\(query)")
                #expect(alone.status == .unauthorized, "\(query)")
                #expect(alone.challenge == """
                    Bearer resource_metadata="\(ResourceServerHarness.metadataURL)", scope="notes:read notes:write"
                    """, "\(query)")
                #expect(!alone.body.contains(token))

                let both = try await client.post(body: body, token: token, path: "/mcp?\(query)")
                #expect(both.status == .badRequest, "\(query)")
                #expect(both.headers[.contentType] == "application/json", "\(query)")
                #expect(both.json["error"] as? String == "invalid_request", "\(query)")
                #expect(both.challenge?.hasPrefix(#"Bearer error="invalid_request""#) == true, "\(query)")
                #expect(!both.body.contains(token))
            }
            #expect(try await client.post(body: body, token: token, path: "/mcp?other=access&token=1").status == .ok)
        }
    }

    @Test("valid tokens pass: audience array, expiry inside the leeway, case-insensitive typ")
    func accepted() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var arrayAudience = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            arrayAudience.audience = .many(["http://other.example", ResourceServerHarness.resource])
            var withinLeeway = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            withinLeeway.issuedAt -= 310  // exp = now - 10, inside the 30 s leeway
            var upperType = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            upperType.type = "application/AT+JWT"
            var longest = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            longest.lifetime = 3_600 + 30  // the configured lifetime plus the leeway
            let tokens = [arrayAudience.token(), withinLeeway.token(), upperType.token(), longest.token()]
            for token in tokens {
                let reply = try await client.callTool("whoami", token: token)
                #expect(reply.status == .ok)
                #expect(reply.toolOutput["subject"] as? String == "alice")
            }
        }
    }

    @Test("a token revoked before its first use is refused (revoked_access_tokens)")
    func revokedBeforeUse() async throws {
        let clock = TestClock()
        // Revoked before the server starts, so its first poll already knows.
        let minter = TokenMinter(issuer: "placeholder", clock: clock)
        try await RevocationFixture.revoke(jti: minter.jti, expiresAt: clock.now.addingTimeInterval(300))
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var minter = minter
            minter.issuer = authorizationServer.issuer
            let reply = try await client.request("tools/list", token: minter.token())
            #expect(reply.status == .unauthorized)
            #expect(reply.challenge?.contains(#"error="invalid_token", error_description="token revoked""#) == true)
        }
    }
}
