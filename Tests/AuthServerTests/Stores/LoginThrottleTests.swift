import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Attempts are made at fixed times, and usernames and addresses are unique, so parallel tests
/// do not interfere. The closures say `async throws` because every `try` sits inside `#expect`,
/// which hides it from the closure's effect inference.
private typealias Decision = LoginThrottle.Decision
private let now = Date(timeIntervalSince1970: 1_700_000_000)

extension LoginThrottle.Decision {
    var isReserved: Bool {
        if case .reserved = self { true } else { false }
    }
}

/// Reserves an attempt `secondsAgo` and settles it, as the login endpoint does.
private func attempt(_ throttle: LoginThrottle, _ username: String, _ address: String, secondsAgo: TimeInterval,
                     succeeded: Bool = false) async throws {
    let decision = try await throttle.reserve(username: username, remoteAddress: address, now: now.addingTimeInterval(-secondsAgo))
    guard case .reserved(let reservation) = decision else {
        Issue.record("attempt \(secondsAgo) s ago was refused: \(decision)")
        return
    }
    await throttle.settle(reservation, succeeded: succeeded)
}

@Suite struct LoginThrottleTests {
    @Test func accountIsThrottledAtTheLimitUntilTheOldestCountedFailureExpires() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let throttle = LoginThrottle(database: db)
            let (user, address) = (TestDatabase.uniqueName("acct"), TestDatabase.uniqueName("addr"))
            try await attempt(throttle, user, address, secondsAgo: 2000)  // outside the 900 s window
            for ago in [100.0, 90, 80, 70] { try await attempt(throttle, user, address, secondsAgo: ago) }
            try await attempt(throttle, user.uppercased(), address, secondsAgo: 60)
            #expect(try await throttle.reserve(username: user, remoteAddress: address, now: now) == Decision.throttled(retryAfterSeconds: 800))
            // Other addresses do not lift the account limit.
            #expect(try await throttle.reserve(username: user, remoteAddress: "198.51.100.1", now: now) == Decision.throttled(retryAfterSeconds: 800))
            #expect(try await throttle.reserve(username: user, remoteAddress: address, now: now.addingTimeInterval(801)).isReserved)
        }
    }

    @Test func successfulLoginResetsTheAccountButNotTheAddress() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let throttle = LoginThrottle(database: db, maxFailuresPerAccount: 3, maxFailuresPerAddress: 4)
            let (user, address) = (TestDatabase.uniqueName("reset"), TestDatabase.uniqueName("addr"))
            for ago in [100.0, 90] { try await attempt(throttle, user, address, secondsAgo: ago) }
            // The owner signs in from another address: the account's failures so far are forgiven.
            try await attempt(throttle, user, "owner-\(address)", secondsAgo: 85, succeeded: true)
            for ago in [80.0, 70] { try await attempt(throttle, user, address, secondsAgo: ago) }
            // Four failures for the account, but only two since the success: below its limit of 3.
            #expect(try await throttle.reserve(username: user, remoteAddress: "elsewhere-\(address)", now: now).isReserved)
            // Now three since the success: the account is throttled until the oldest of them leaves the window.
            #expect(try await throttle.reserve(username: user, remoteAddress: "elsewhere-\(address)", now: now)
                == Decision.throttled(retryAfterSeconds: 820))
            // The attacker's address keeps all four of its failures: its limit, whatever the account.
            #expect(try await throttle.reserve(username: TestDatabase.uniqueName("other"), remoteAddress: address, now: now)
                == Decision.throttled(retryAfterSeconds: 800))
        }
    }

    @Test func addressIsThrottledAcrossAccounts() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let throttle = LoginThrottle(database: db)
            let address = TestDatabase.uniqueName("spray")
            for index in 0..<20 {
                try await attempt(throttle, TestDatabase.uniqueName("victim"), address, secondsAgo: Double(300 - index))
            }
            let fresh = TestDatabase.uniqueName("fresh")
            #expect(try await throttle.reserve(username: fresh, remoteAddress: address, now: now) == Decision.throttled(retryAfterSeconds: 600))
            #expect(try await throttle.reserve(username: fresh, remoteAddress: "other-\(address)", now: now).isReserved)
        }
    }

    @Test("An empty username is limited per address only, never as one shared account")
    func emptyUsernameCountsPerAddressOnly() async throws {
        try await TestDatabase.withDatabase { (db) async throws in
            let throttle = LoginThrottle(database: db, maxFailuresPerAccount: 2, maxFailuresPerAddress: 3)
            let (first, second) = (TestDatabase.uniqueName("empty"), TestDatabase.uniqueName("empty"))
            for ago in [30.0, 20, 10] { try await attempt(throttle, "", first, secondsAgo: ago) }
            #expect(try await throttle.reserve(username: "", remoteAddress: second, now: now).isReserved)
            #expect(try await !throttle.reserve(username: "", remoteAddress: first, now: now).isReserved)
        }
    }

    /// The regression: failures used to be counted after the password check, so parallel
    /// attempts all saw the old count. Reservations are serialised per account in PostgreSQL.
    @Test("60 concurrent reservations for one account: exactly the limit get through, from any address")
    func concurrentReservationsHoldTheLimit() async throws {
        // The servers' test pool (4 connections), and time for 60 serialised transactions on a busy machine.
        var configuration = try TestDatabase.configuration()
        configuration.maxConnections = 4
        configuration.queryTimeout = .seconds(60)
        let db = try Database(configuration: configuration, logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await db.client.run() }
            defer { group.cancelAll() }
            try await Migrator.migrate(db, logger: TestDatabase.logger)
            let throttle = LoginThrottle(database: db)
            let user = TestDatabase.uniqueName("race")
            let decisions = try await withThrowingTaskGroup(of: Decision.self) { group in
                for index in 0..<60 {
                    group.addTask {
                        try await throttle.reserve(username: user, remoteAddress: "race-\(index)-\(user)", now: now)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(decisions.filter(\.isReserved).count == 5)
            #expect(decisions.filter { !$0.isReserved }.count == 55)
        }
    }

    @Test func retryAfterTakesTheLaterOfBothLimits() {
        let window: TimeInterval = 900
        #expect(LoginThrottle.retryAfter(limitingFailures: [], window: window, now: now) == nil)
        #expect(LoginThrottle.retryAfter(
            limitingFailures: [now.addingTimeInterval(-600), now.addingTimeInterval(-100)], window: window, now: now) == 800)
        // Never "retry after 0": a client would retry at once and be refused again.
        #expect(LoginThrottle.retryAfter(limitingFailures: [now.addingTimeInterval(-899.9)], window: window, now: now) == 1)
    }
}
