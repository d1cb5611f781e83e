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
    @Test("a cached token is refused within 1 s of its jti landing in revoked_access_tokens")
    func revocationReachesCachedToken() async throws {
        let clock = TestClock()
        try await StandInAuthorizationServer.withRunning { authorizationServer in
            let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            let token = minter.token()
            try await ResourceServerHarness.withServer(authorizationServer: authorizationServer, clock: clock) { client in
                // Twice: the second call is served from the validated-token cache.
                for _ in 0..<2 { #expect(try await client.callTool("whoami", token: token).status == .ok) }
                try await RevocationFixture.revoke(jti: minter.jti, expiresAt: clock.now.addingTimeInterval(300))
                let start = ContinuousClock.now  // the row is committed: the clock starts now
                var refused = false
                while ContinuousClock.now - start < .seconds(2) {
                    let reply = try await client.callTool("whoami", token: token)
                    if reply.status == .unauthorized {
                        refused = true
                        #expect(reply.challenge?.contains(#"error_description="token revoked""#) == true)
                        break
                    }
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(refused)
                #expect(ContinuousClock.now - start < .seconds(1))
            }
        }
    }

    @Test("with the feed stale and the database unreachable, isRevoked throws (the endpoint answers 503)")
    func staleFeedAndNoDatabaseFailsClosed() async throws {
        var configuration = try TestDatabase.configuration()
        configuration.port = 1  // nothing listens there
        configuration.queryTimeout = .milliseconds(500)
        let database = try Database(configuration: configuration, logger: ResourceServerHarness.logger)
        let feed = RevocationFeed(database: database, logger: ResourceServerHarness.logger, now: { Date() }, leeway: 30)
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
            let feed = RevocationFeed(database: database, logger: ResourceServerHarness.logger, now: { Date() }, leeway: 30)
            #expect(await feed.poll())
            #expect(feed.isFresh)
            #expect(try await feed.isRevoked(jti))
            #expect(try await feed.isRevoked(UUID().uuidString) == false)
        }
    }
}

/// The hole bookkeeping that keeps a late-committing `bigserial` from being skipped.
@Suite("RevocationLedger")
struct RevocationLedgerTests {
    let start = ContinuousClock.now

    @Test("a seq that commits after a higher one is still picked up")
    func lateCommit() {
        var ledger = RevocationLedger()
        ledger.record([.init(seq: 1, jti: "a", expiresAt: 100)], at: start)
        ledger.record([.init(seq: 3, jti: "c", expiresAt: 100)], at: start)
        #expect(ledger.pendingHoles == [2])
        ledger.record([.init(seq: 2, jti: "b", expiresAt: 100)], at: start)
        #expect(ledger.pendingHoles.isEmpty)
        #expect(ledger.contains("b"))
        #expect(ledger.highestSeq == 3)
    }

    @Test("holes that never fill are forgotten after their lifetime; jumps are bounded")
    func holesExpireAndAreBounded() {
        var ledger = RevocationLedger()
        ledger.record([.init(seq: 5_000, jti: "x", expiresAt: 100)], at: start)
        #expect(ledger.pendingHoles.count == Int(RevocationLedger.maximumHolesPerJump))
        ledger.closeOldHoles(at: start + .seconds(5))
        #expect(!ledger.pendingHoles.isEmpty)
        ledger.closeOldHoles(at: start + .seconds(11))
        #expect(ledger.pendingHoles.isEmpty)
    }

    @Test("entries are pruned only after exp plus the leeway")
    func pruning() {
        var ledger = RevocationLedger()
        ledger.record([.init(seq: 1, jti: "a", expiresAt: 1_000)], at: start)
        ledger.prune(now: 1_029, leeway: 30)
        #expect(ledger.contains("a"))
        ledger.prune(now: 1_031, leeway: 30)
        #expect(!ledger.contains("a"))
    }
}
