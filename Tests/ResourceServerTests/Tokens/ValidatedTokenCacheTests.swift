import Foundation
import Shared
import TestSupport
import Testing
@testable import ResourceServer

/// Issue 14, soak: the cache kept every token until it expired (an hour), so a steady stream of
/// refreshed tokens grew the ResourceServer for as long as the stream lasted. Entries now leave when
/// expired or idle, swept on a timer; time here is the injected clock's.
@Suite("Validated-token cache: expiry, idle eviction and the sweeper")
struct ValidatedTokenCacheTests {
    static let leeway = 30

    static func entry(_ name: String, expiresAt: Int) -> ValidatedTokenCache.Entry {
        ValidatedTokenCache.Entry(identity: VerifiedIdentity(subject: "user-\(name)", clientID: "client", scopes: ScopeSet("notes:read"),
                                                             tokenID: "jti-\(name)"),
                                  keyID: "kid-1", expiresAt: expiresAt)
    }

    @Test("the key is the token's SHA-256: the same bytes as Digest.sha256, equal for equal tokens only")
    func key() {
        let token = String(repeating: "eyJhbGciOiJSUzI1NiJ9.", count: 40)
        let words = ValidatedTokenCache.key(for: token).words
        let bytes = withUnsafeBytes(of: words) { Array($0) }
        #expect(bytes == Digest.sha256(token))
        #expect(ValidatedTokenCache.key(for: token) == ValidatedTokenCache.key(for: String(token)))
        #expect(ValidatedTokenCache.key(for: token) != ValidatedTokenCache.key(for: token + "x"))
    }

    @Test("a token not presented for idleLifetime seconds is swept; one presented in time stays")
    func idleEntriesAreSwept() {
        let cache = ValidatedTokenCache(idleLifetime: 60)
        let now = 1_000_000
        let (used, idle) = (ValidatedTokenCache.key(for: "used"), ValidatedTokenCache.key(for: "idle"))
        cache.insert(Self.entry("used", expiresAt: now + 3600), forKey: used, now: now, leeway: Self.leeway)
        cache.insert(Self.entry("idle", expiresAt: now + 3600), forKey: idle, now: now, leeway: Self.leeway)
        #expect(cache.sweep(now: now + 59, leeway: Self.leeway) == 2)
        #expect(cache.entry(forKey: used, now: now + 59, leeway: Self.leeway)?.identity.subject == "user-used")
        // 60 s after its insertion the idle one goes; the other was presented at +59 and stays.
        #expect(cache.sweep(now: now + 60, leeway: Self.leeway) == 1)
        #expect(cache.entry(forKey: idle, now: now + 60, leeway: Self.leeway) == nil)
        #expect(cache.entry(forKey: used, now: now + 60, leeway: Self.leeway) != nil)
        #expect(cache.sweep(now: now + 120, leeway: Self.leeway) == 0)
        #expect(cache.count == 0)
    }

    @Test("an expired token is swept even while in use, once exp + leeway has passed")
    func expiredEntriesAreSwept() {
        let cache = ValidatedTokenCache(idleLifetime: 600)
        let now = 1_000_000
        let key = ValidatedTokenCache.key(for: "short")
        cache.insert(Self.entry("short", expiresAt: now + 10), forKey: key, now: now, leeway: Self.leeway)
        #expect(cache.entry(forKey: key, now: now + 10 + Self.leeway - 1, leeway: Self.leeway) != nil)
        #expect(cache.sweep(now: now + 10 + Self.leeway - 1, leeway: Self.leeway) == 1)
        #expect(cache.sweep(now: now + 10 + Self.leeway, leeway: Self.leeway) == 0)
        // A lookup after expiry misses too (and removes it, without waiting for the sweep).
        cache.insert(Self.entry("short", expiresAt: now + 10), forKey: key, now: now, leeway: Self.leeway)
        #expect(cache.entry(forKey: key, now: now + 10 + Self.leeway, leeway: Self.leeway) == nil)
        #expect(cache.count == 0)
    }

    @Test("at capacity, stale entries go first; a cache full of live ones starts over")
    func capacityIsABackstop() {
        let cache = ValidatedTokenCache(capacity: 3, idleLifetime: 60)
        let now = 1_000_000
        for name in ["a", "b", "c"] {
            cache.insert(Self.entry(name, expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: name), now: now, leeway: Self.leeway)
        }
        _ = cache.entry(forKey: ValidatedTokenCache.key(for: "a"), now: now + 50, leeway: Self.leeway)
        cache.insert(Self.entry("d", expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: "d"), now: now + 70, leeway: Self.leeway)
        #expect(cache.count == 2, "b and c were idle for 70 s")
        cache.insert(Self.entry("e", expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: "e"), now: now + 70, leeway: Self.leeway)
        cache.insert(Self.entry("f", expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: "f"), now: now + 70, leeway: Self.leeway)
        #expect(cache.count == 1, "full of live tokens: emptied, then f inserted")
    }

    @Test("the sweeper sweeps every resource's cache on the injected clock and reports what remains")
    func sweeperUsesTheInjectedClock() async throws {
        let clock = TestClock()
        let (mcp, upstream) = (ValidatedTokenCache(idleLifetime: 60), ValidatedTokenCache(idleLifetime: 60))
        let now = clock.seconds
        mcp.insert(Self.entry("a", expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: "a"), now: now, leeway: Self.leeway)
        upstream.insert(Self.entry("b", expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: "b"), now: now, leeway: Self.leeway)
        upstream.insert(Self.entry("c", expiresAt: now + 3600), forKey: ValidatedTokenCache.key(for: "c"), now: now + 30,
                        leeway: Self.leeway)
        let sweeper = ValidatedTokenCacheSweeper(caches: [.init(resource: "/mcp", cache: mcp), .init(resource: "/mcp/upstream", cache: upstream)],
                                                 clock: clock.clock, leeway: Self.leeway)
        #expect(sweeper.sweep() == ["/mcp": 1, "/mcp/upstream": 2])
        clock.advance(seconds: 60)
        #expect(sweeper.sweep() == ["/mcp": 0, "/mcp/upstream": 1])
        clock.advance(seconds: 30)
        #expect(sweeper.sweep() == ["/mcp": 0, "/mcp/upstream": 0])
    }

    @Test("the running sweeper evicts without any lookup, and stops on cancellation")
    func sweeperRunsOnATimer() async throws {
        let clock = TestClock()
        let cache = ValidatedTokenCache(idleLifetime: 60)
        cache.insert(Self.entry("a", expiresAt: clock.seconds + 3600), forKey: ValidatedTokenCache.key(for: "a"), now: clock.seconds,
                     leeway: Self.leeway)
        var sweeper = ValidatedTokenCacheSweeper(caches: [.init(resource: "/mcp", cache: cache)], clock: clock.clock, leeway: Self.leeway)
        sweeper.interval = .milliseconds(20)
        let running = Task { [sweeper] in try await sweeper.run() }
        try await Task.sleep(for: .milliseconds(100))
        #expect(cache.count == 1)
        clock.advance(seconds: 61)
        let deadline = ContinuousClock.now + .seconds(5)
        while cache.count > 0, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(cache.count == 0)
        running.cancel()
        try await running.value
    }

    @Test("the server runs the sweeper: /metrics shows each resource's cache size")
    func gaugeIsPublished() async throws {
        // Metrics are process-wide and off in tests until bootstrapped (as ClientReapingTests does).
        Observability.bootstrap(format: .text, level: .error)
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            #expect(try await client.callTool("whoami", token: TokenMinter(issuer: authorizationServer.issuer, clock: clock).token())
                .status == .ok)
            // The first sweep runs as the service starts; later ones every 15 s.
            let deadline = ContinuousClock.now + .seconds(5)
            var metrics = ""
            while !metrics.contains("gatehouse_rs_validated_tokens_cached{resource=\"/mcp\"}"), ContinuousClock.now < deadline {
                metrics = try await client.send(.get, "/metrics").body
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(metrics.contains("# TYPE gatehouse_rs_validated_tokens_cached gauge"), "\(metrics.prefix(2000))")
            #expect(metrics.contains("gatehouse_rs_validated_tokens_cached{resource=\"/mcp\"}"))
        }
    }
}
