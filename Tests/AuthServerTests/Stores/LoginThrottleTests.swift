import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Events are written with fixed times in the past, so they never show up as "newest" in other
/// tests' listings, and usernames and addresses are unique, so parallel tests do not interfere.
/// The closures say `async throws` because every `try` sits inside `#expect`, which hides it
/// from the closure's effect inference.
private typealias Decision = LoginThrottle.Decision
private let now = Date(timeIntervalSince1970: 1_700_000_000)

private func fail(_ audit: AuditLog, _ username: String, _ address: String, secondsAgo: TimeInterval) async {
    await audit.record(.loginFailed, outcome: .failure, username: username, remoteAddress: address,
                       occurredAt: now.addingTimeInterval(-secondsAgo))
}

@Suite struct LoginThrottleTests {
    @Test func accountIsThrottledAtTheLimitUntilTheOldestCountedFailureExpires() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let throttle = LoginThrottle(database: db)
            let (user, address) = (TestDatabase.uniqueName("acct"), TestDatabase.uniqueName("addr"))
            await fail(audit, user, address, secondsAgo: 2000)  // outside the 900 s window
            for ago in [100.0, 90, 80, 70] { await fail(audit, user, address, secondsAgo: ago) }
            #expect(try await throttle.check(username: user, remoteAddress: address, now: now) == Decision.allowed)
            await fail(audit, user.uppercased(), address, secondsAgo: 60)
            #expect(try await throttle.check(username: user, remoteAddress: address, now: now) == Decision.throttled(retryAfterSeconds: 800))
            // Other addresses do not lift the account limit.
            #expect(try await throttle.check(username: user, remoteAddress: "198.51.100.1", now: now) == Decision.throttled(retryAfterSeconds: 800))
            #expect(try await throttle.check(username: user, remoteAddress: address, now: now.addingTimeInterval(801)) == Decision.allowed)
        }
    }

    @Test func successfulLoginResetsTheAccountButNotTheAddress() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let throttle = LoginThrottle(database: db, maxFailuresPerAccount: 3, maxFailuresPerAddress: 3)
            let (user, address) = (TestDatabase.uniqueName("reset"), TestDatabase.uniqueName("addr"))
            for ago in [100.0, 90, 80] { await fail(audit, user, address, secondsAgo: ago) }
            #expect(try await throttle.check(username: user, remoteAddress: "elsewhere-\(address)", now: now) != Decision.allowed)
            await audit.record(.login, username: user, remoteAddress: address, occurredAt: now.addingTimeInterval(-50))
            #expect(try await throttle.check(username: user, remoteAddress: "elsewhere-\(address)", now: now) == Decision.allowed)
            #expect(try await throttle.check(username: user, remoteAddress: address, now: now) == Decision.throttled(retryAfterSeconds: 800))
        }
    }

    @Test func addressIsThrottledAcrossAccounts() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let throttle = LoginThrottle(database: db)
            let address = TestDatabase.uniqueName("spray")
            for index in 0..<20 {
                await fail(audit, TestDatabase.uniqueName("victim"), address, secondsAgo: Double(300 - index))
            }
            let fresh = TestDatabase.uniqueName("fresh")
            #expect(try await throttle.check(username: fresh, remoteAddress: address, now: now) == Decision.throttled(retryAfterSeconds: 600))
            #expect(try await throttle.check(username: fresh, remoteAddress: "other-\(address)", now: now) == Decision.allowed)
        }
    }

    @Test func decisionTakesTheLaterOfBothLimits() {
        let window: TimeInterval = 900
        #expect(LoginThrottle.decide(limitingFailures: [], window: window, now: now) == .allowed)
        let decision = LoginThrottle.decide(
            limitingFailures: [now.addingTimeInterval(-600), now.addingTimeInterval(-100)], window: window, now: now)
        #expect(decision == .throttled(retryAfterSeconds: 800))
        // Never "retry after 0": a client would retry at once and be refused again.
        #expect(LoginThrottle.decide(limitingFailures: [now.addingTimeInterval(-899.9)], window: window, now: now)
            == .throttled(retryAfterSeconds: 1))
    }
}
