import Foundation
import HTTPTypes
import Shared
import Testing
import TestSupport
@testable import AuthServer

extension TestClock {
    /// Ten seconds into the next minute (at most 70 s ahead of real time): a fresh fixed window
    /// of every per-minute limit with exactly 50 s left in it, so `Retry-After` is known.
    static func tenSecondsIntoNextMinute() -> TestClock {
        let next = (Date().timeIntervalSince1970 / 60).rounded(.down) * 60 + 60
        return TestClock(Date(timeIntervalSince1970: next + 10))
    }
}

/// Issue 13, item 3: "registrations per source network per hour; token requests per client per
/// minute; authorization requests per client; each limit answers 429 with `Retry-After` and the
/// spec's JSON error, is configurable … A 429 never hides a terminal answer: a refresh with a
/// revoked token gets `invalid_grant`, not 429."
@Suite struct RateLimitTests {
    typealias Refused = AuthorizationCodeGrantTests

    /// RFC 6585 §4: 429 with Retry-After; the body is the token endpoint's JSON error.
    static func expectLimited(_ reply: Reply, retryAfter: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
        Refused.expectRefused(reply, "temporarily_unavailable", status: .tooManyRequests, sourceLocation: sourceLocation)
        #expect(reply.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
        #expect((reply.json["error_description"] as? String)?.contains("too many") == true, sourceLocation: sourceLocation)
        let value = reply.headers[.retryAfter]
        #expect(value.flatMap(Int.init).map { $0 >= 1 } == true, "Retry-After \(value ?? "missing")", sourceLocation: sourceLocation)
        if let retryAfter { #expect(value == retryAfter, sourceLocation: sourceLocation) }
    }

    func auditCount(_ server: TestAuthServer, clientID: String) async throws -> Int {
        try await server.count("SELECT count(*)::int FROM audit_events WHERE kind = 'rate_limited' AND client_id = \(clientID)")
    }

    @Test("token requests per client per minute: the third is 429 with Retry-After, rotates nothing, and the window frees it")
    func tokenLimit() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "2"],
                                     clock: .tenSecondsIntoNextMinute()) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)                          // 1
            let second = IssuedTokens(reply: try await server.refresh(first.refreshToken, client: client))  // 2
            #expect(second.reply.status == .ok)
            Self.expectLimited(try await server.refresh(second.refreshToken, client: client), retryAfter: "50")
            server.clock.advance(seconds: 20)
            Self.expectLimited(try await server.refresh(second.refreshToken, client: client), retryAfter: "30")
            // A retry of a lost answer (within the grace window) is not limited: it is the answer already given.
            let replay = try await server.refresh(first.refreshToken, client: client)
            #expect(replay.status == .ok && replay.body == second.reply.body)
            // Audited once per window and client, not once per refusal.
            #expect(try await auditCount(server, clientID: client.id) == 1)
            // The limited token was not rotated: after the window it refreshes.
            server.clock.advance(seconds: 30)
            let after = try await server.refresh(second.refreshToken, client: client)
            #expect(after.status == .ok, "\(after.body)")
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
        }
    }

    @Test("over the token limit, terminal answers still win: revoked refresh, bad code, unknown client; a limited code stays usable")
    func terminalAnswersWinOverTheLimit() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "1"],
                                     clock: .tenSecondsIntoNextMinute()) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)  // the window's one
            let pkce = PKCE()
            let code = try await server.obtainCode(client, pkce, browser: &browser)
            // A good code over the limit: 429, and the code is neither consumed nor burnt.
            Self.expectLimited(try await server.exchange(code, client: client, verifier: pkce.verifier), retryAfter: "50")
            // A bad code over the limit: invalid_grant, as always.
            Refused.expectRefused(try await server.exchange("not-a-code", client: client, verifier: pkce.verifier), "invalid_grant")
            // A good refresh token over the limit: 429; once revoked: invalid_grant, not 429.
            Self.expectLimited(try await server.refresh(first.refreshToken, client: client))
            let revoked = try await server.tokenRequest([("token", first.refreshToken)], client: client, path: "/revoke")
            #expect(revoked.status == .ok)
            Refused.expectRefused(try await server.refresh(first.refreshToken, client: client), "invalid_grant", "revoked")
            // Bad client authentication is answered before any limit.
            let stranger = RegisteredClient(id: "no-such-client-\(UUID())", secret: nil, redirectURI: client.redirectURI, authMethod: "none")
            Refused.expectRefused(try await server.refresh(first.refreshToken, client: stranger), "invalid_client", status: .unauthorized)
            // After the window the limited code is exchanged.
            server.clock.advance(seconds: 50)
            let exchanged = try await server.exchange(code, client: client, verifier: pkce.verifier)
            #expect(exchanged.status == .ok, "\(exchanged.body)")
        }
    }

    @Test("token exchange (RFC 8693) is a token request too: over the limit 429, while a bad subject token is still invalid_request")
    func tokenExchangeLimit() async throws {
        try await TokenExchangeTests.run(overrides: ["GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "1"]) { setup in
            let server = setup.server
            #expect(try await server.exchangeToken(setup.subject, client: setup.resourceServer).status == .ok)
            Self.expectLimited(try await server.exchangeToken(setup.subject, client: setup.resourceServer))
            Refused.expectRefused(try await server.exchangeToken("not-a-token", client: setup.resourceServer), "invalid_request")
            server.clock.advance(seconds: 60)
            #expect(try await server.exchangeToken(setup.subject, client: setup.resourceServer).status == .ok)
        }
    }

    @Test("authorization requests per client per minute: 429 after the limit for valid requests; invalid ones keep their answer")
    func authorizeLimit() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE": "2"],
                                     clock: .tenSecondsIntoNextMinute()) { server in
            let client = try await server.registerClient()
            let query = "/authorize?" + FormEncoding.query(server.authorizeParameters(client, PKCE()))
            for _ in 0..<2 {
                let page = try await server.get(query)
                #expect(page.status == .ok && page.isLoginPage, "\(page.status)")
            }
            let limited = try await server.get(query)
            Self.expectLimited(limited, retryAfter: "50")
            #expect(limited.location == nil)  // never a redirect
            // Terminal answers are unchanged over the limit: an unknown client, an unregistered redirect URI.
            let unknown = try await server.get("/authorize?" + FormEncoding.query(server.authorizeParameters(
                RegisteredClient(id: "no-such-client-\(UUID())", secret: nil, redirectURI: client.redirectURI, authMethod: "none"), PKCE())))
            AuthorizeEndpointTests.expectErrorPage(unknown)
            let badRedirect = try await server.get("/authorize?" + FormEncoding.query(server.authorizeParameters(
                client, PKCE(), changes: ["redirect_uri": "https://evil.example/cb"])))
            AuthorizeEndpointTests.expectErrorPage(badRedirect)
            // An invalid request of a known client (no PKCE) still gets its own error, not 429.
            let noPKCE = try await server.get("/authorize?" + FormEncoding.query(server.authorizeParameters(
                client, PKCE(), changes: ["code_challenge": nil])))
            #expect(noPKCE.status != .tooManyRequests)
            server.clock.advance(seconds: 50)
            let again = try await server.get(query)
            #expect(again.status == .ok && again.isLoginPage)
        }
    }

    @Test("registrations per source network per hour: 429 after the limit, other networks unaffected, invalid bodies still 400")
    func registrationLimit() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR": "2"]) { server in
            for _ in 0..<2 { _ = try await server.registerClient() }
            let limited = try await server.register(TestAuthServer.publicClientMetadata)
            Self.expectLimited(limited)
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap(Int.init))
            #expect(retryAfter <= 3600)
            var invalid = TestAuthServer.publicClientMetadata
            invalid["redirect_uris"] = nil
            Refused.expectRefused(try await server.register(invalid), "invalid_redirect_uri")
            // Another network has a budget of its own.
            let other = "2001:db8:\(String(Int.random(in: 1...0xffff), radix: 16)):\(String(Int.random(in: 1...0xffff), radix: 16))::7"
            let body = String(decoding: try JSONSerialization.data(withJSONObject: TestAuthServer.publicClientMetadata), as: UTF8.self)
            let elsewhere = try await server.send(.post, "/register", headers: [.contentType: "application/json", .xForwardedFor: other],
                                                  body: body)
            #expect(elsewhere.status == .created, "\(elsewhere.body)")
            server.clock.advance(seconds: TimeInterval(retryAfter))
            #expect(try await server.register(TestAuthServer.publicClientMetadata).status == .created)
        }
    }

    /// Over a real socket from 127.0.0.1: the registration budget follows X-Forwarded-For only
    /// when the peer is a trusted proxy.
    @Test("GATEHOUSE_TRUSTED_PROXIES over HTTP: a trusted proxy's X-Forwarded-For picks the budget; untrusted, the peer's does")
    func trustedProxiesOverHTTP() async throws {
        let body = String(decoding: try JSONSerialization.data(withJSONObject: TestAuthServer.publicClientMetadata), as: UTF8.self)
        let subnet = Int.random(in: 0...255)
        @Sendable func register(_ server: TestAuthServer, from address: String) async throws -> Reply {
            try await server.send(.post, "/register", headers: [.contentType: "application/json", .xForwardedFor: address], body: body)
        }
        try await TestAuthServer.run(.live, overrides: ["GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR": "1",
                                                        "GATEHOUSE_TRUSTED_PROXIES": "127.0.0.1/32,::1/128"]) { server in
            _ = try await server.database.query("DELETE FROM rate_limit_counters WHERE bucket LIKE 'registration:198.19.%'")
            #expect(try await register(server, from: "198.19.\(subnet).10").status == .created)
            // The same /24 behind the proxy, and a forged entry left of it changes nothing.
            Self.expectLimited(try await register(server, from: "1.2.3.4, 198.19.\(subnet).11"))
            #expect(try await register(server, from: "198.19.\((subnet + 1) % 256).10").status == .created)
        }
        try await TestAuthServer.run(.live, overrides: ["GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR": "1",
                                                        "GATEHOUSE_TRUSTED_PROXIES": ""]) { server in
            _ = try await server.database.query(
                "DELETE FROM rate_limit_counters WHERE bucket IN ('registration:127.0.0.0/24', 'registration:0:0:0:0::/56')")
            #expect(try await register(server, from: "198.19.\(subnet).20").status == .created)
            // Not a trusted proxy: the header is ignored and both count for the peer, 127.0.0.1.
            Self.expectLimited(try await register(server, from: "198.19.\((subnet + 7) % 256).20"))
            _ = try await server.database.query(
                "DELETE FROM rate_limit_counters WHERE bucket IN ('registration:127.0.0.0/24', 'registration:0:0:0:0::/56')")
        }
    }

    /// gatehouse_rate_limited_total is checked over /metrics by Tests/e2e/test_rate_limits.py.
    @Test("the limiter: one unit per check, a 429 with Retry-After once spent, nothing when off")
    func limiter() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR": "1"]) { server in
            _ = try await server.registerClient()
            let limiter = RateLimiter(database: server.database, metrics: AuthMetrics(), audit: server.environment.audit,
                                      logger: server.environment.logger)
            let rule = RateLimitRule(limit: .registration, maximum: 1, window: 3600)
            #expect(try await limiter.check(rule, key: sourceNetwork(of: server.address), now: server.clock.now) != nil)
            let key = "rate-limit-unit-\(UUID())"
            #expect(try await limiter.check(rule, key: key, now: server.clock.now) == nil)
            let refusal = try #require(try await limiter.check(rule, key: key, now: server.clock.now))
            #expect(refusal.status == .tooManyRequests && refusal.code == .temporarilyUnavailable)
            #expect(refusal.headers[.retryAfter] == String(rule.retryAfter(at: server.clock.now)))
            #expect(try await limiter.check(RateLimitRule(limit: .token, maximum: 0, window: 60), key: key, now: server.clock.now) == nil)
        }
    }
}
