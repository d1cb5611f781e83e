import Foundation
import Logging
import Shared
import TestSupport
import Testing
@testable import ResourceServer

/// RFC 7009 §2.2 says a revoked token must stop working; these tests check that a revocation
/// written by the AS reaches the resource server within a second, cache or no cache.
@Suite("Revocation feed")
struct RevocationTests {
    // The guarantee "within a second" comes from the feed's 250 ms poll (and LISTEN before it);
    // the loop's deadline is generous so a loaded CI machine measures behaviour, not its speed.
    @Test("a cached token is refused once its jti lands in revoked_access_tokens")
    func revocationReachesCachedToken() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            let token = minter.token()
            // Twice: the second call is served from the validated-token cache.
            for _ in 0..<2 { #expect(try await client.callTool("whoami", token: token).status == .ok) }
            try await RevocationFixture.revoke(jti: minter.jti, expiresAt: clock.now.addingTimeInterval(300))
            let start = ContinuousClock.now  // the row is committed: the clock starts now
            var refused = false
            while ContinuousClock.now - start < .seconds(10) {
                let reply = try await client.callTool("whoami", token: token)
                if reply.status == .unauthorized {
                    refused = true
                    #expect(reply.challenge?.contains(#"error_description="token revoked""#) == true)
                    break
                }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(refused)
        }
    }

    @Test("with the feed stale and the database unreachable, isRevoked throws (the endpoint answers 503)")
    func staleFeedAndNoDatabaseFailsClosed() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.port = 1  // nothing listens there
        configuration.queryTimeout = .milliseconds(500)
        let database = try Database(configuration: configuration, logger: ResourceServerHarness.logger)
        let feed = RevocationFeed(database: database, logger: ResourceServerHarness.logger, clock: .system, leeway: 30,
                                  accessTokenLifetime: 3600)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            #expect(await feed.poll() == false)
            #expect(!feed.isFresh)
            await #expect(throws: (any Error).self) { _ = try await feed.isRevoked("some-jti") }
        }
    }

    @Test("with a fresh feed, revoked and unrevoked jtis are answered from memory")
    func freshFeedAnswersFromMemory() async throws {
        let jti = UUID().uuidString
        try await RevocationFixture.revoke(jti: jti, expiresAt: Date().addingTimeInterval(300))
        try await TestDatabase.withDatabase { (database: Database) async throws in
            let feed = RevocationFeed(database: database, logger: ResourceServerHarness.logger, clock: .system, leeway: 30,
                                  accessTokenLifetime: 3600)
            #expect(await feed.poll())
            #expect(feed.isFresh)
            #expect(try await feed.isRevoked(jti))
            #expect(try await feed.isRevoked(UUID().uuidString) == false)
        }
    }
}

/// The gap bookkeeping that keeps a late-committing `bigserial` from being skipped.
@Suite("RevocationLedger")
struct RevocationLedgerTests {
    @Test("a seq that commits after a higher one is still picked up")
    func lateCommit() {
        var ledger = RevocationLedger(gapLifetime: 3_720)
        ledger.record([.init(seq: 1, jti: "a", expiresAt: 100)], now: 0)
        ledger.record([.init(seq: 3, jti: "c", expiresAt: 100)], now: 0)
        #expect(ledger.gaps == [.init(lower: 2, upper: 2, noticedAt: 0)])
        ledger.record([.init(seq: 2, jti: "b", expiresAt: 100)], now: 1)
        #expect(ledger.gaps.isEmpty)
        #expect(ledger.contains("b"))
        #expect(ledger.highestSeq == 3)
    }

    @Test("a jump of any size is remembered whole, and filling splits the gap")
    func largeJumps() {
        var ledger = RevocationLedger(gapLifetime: 3_720)
        ledger.record([.init(seq: 1, jti: "a", expiresAt: 100)], now: 0)
        ledger.record([.init(seq: 1_000_002, jti: "z", expiresAt: 100)], now: 0)
        #expect(ledger.pendingCount == 1_000_000)
        ledger.record([.init(seq: 500_000, jti: "m", expiresAt: 100), .init(seq: 2, jti: "b", expiresAt: 100)], now: 5)
        #expect(ledger.gaps == [.init(lower: 3, upper: 499_999, noticedAt: 0), .init(lower: 500_001, upper: 1_000_001, noticedAt: 0)])
        ledger.record([.init(seq: 1_000_001, jti: "y", expiresAt: 100)], now: 5)
        #expect(ledger.gaps.last == .init(lower: 500_001, upper: 1_000_000, noticedAt: 0))
        #expect(["a", "b", "m", "y", "z"].allSatisfy(ledger.contains))
    }

    @Test("gaps are kept for the whole token lifetime (not 10 s), then forgotten")
    func gapsOutliveTheOldTenSeconds() {
        var ledger = RevocationLedger(gapLifetime: 3_720)
        ledger.record([.init(seq: 5_000, jti: "x", expiresAt: 100)], now: 1_000)
        #expect(ledger.pendingCount == 4_999)
        ledger.closeExpiredGaps(now: 1_000 + 11)
        ledger.closeExpiredGaps(now: 1_000 + 3_720)
        #expect(ledger.pendingCount == 4_999)
        ledger.closeExpiredGaps(now: 1_000 + 3_721)
        #expect(ledger.gaps.isEmpty)
    }

    @Test("entries are pruned only after exp plus the leeway")
    func pruning() {
        var ledger = RevocationLedger(gapLifetime: 3_720)
        ledger.record([.init(seq: 1, jti: "a", expiresAt: 1_000)], now: 0)
        ledger.prune(now: 1_029, leeway: 30)
        #expect(ledger.contains("a"))
        ledger.prune(now: 1_031, leeway: 30)
        #expect(!ledger.contains("a"))
    }
}
