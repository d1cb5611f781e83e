import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// Login throttling under concurrency, over real HTTP: every attempt is reserved in PostgreSQL
/// before its password is checked, so parallel guesses cannot all see the old count (security
/// review finding C.1: 60 concurrent wrong passwords once got 12 × 401 against a limit of 5).
@Suite struct LoginThrottleRaceTests {
    /// Attempts for one account queue behind each other in PostgreSQL; on a loaded test machine
    /// the last of 60 may wait longer than the default 5 s database timeout.
    static let patient = ["DATABASE_TIMEOUT_SECONDS": "30"]

    /// Posts the same login form `count` times at once, each on a connection of its own, from
    /// the test's own address; `username(i)` names the account of the i-th attempt.
    private func race(_ server: TestAuthServer, count: Int, password: String,
                      username: @escaping @Sendable (Int) -> String) async throws -> [Reply] {
        let client = try await server.registerClient()
        var browser = Browser(server)
        let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
        try #require(page.isLoginPage, "no login page: \(page.status)")
        let (request, csrf, cookies) = (page.hiddenField("request") ?? "", page.hiddenField("csrf") ?? "", browser.cookieHeader)
        return try await withThrowingTaskGroup(of: Reply.self) { group in
            for index in 0..<count {
                group.addTask {
                    try await server.postFormOnNewConnection("/login", [
                        ("request", request), ("csrf", csrf), ("username", username(index)), ("password", password),
                    ], headers: cookies)
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
    }

    @Test("60 concurrent wrong passwords for one account: exactly 5 are checked (401), 55 are 429 with Retry-After")
    func concurrentGuessesForOneAccount() async throws {
        try await TestAuthServer.run(.live, overrides: Self.patient) { server in
            // An account of its own: throttling the shared test user would lock out other tests.
            let victim = TestMarker().name.lowercased()
            _ = try await UserStore(database: server.database, hasher: AuthServerFixture.passwordHasher)
                .create(username: victim, password: server.password)
            let replies = try await race(server, count: 60, password: "wrong-guess-wrong") { _ in victim }
            let statuses = replies.map(\.status.code)
            #expect(statuses.filter { $0 == 401 }.count == 5, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 55, "\(statuses)")
            for reply in replies where reply.status == .tooManyRequests {
                #expect(reply.isLoginPage && reply.cookies["gh_session"] == nil)
                #expect(reply.headers[.retryAfter].flatMap(Int.init).map { (1...900).contains($0) } == true)
            }
            let failures = try await server.count(
                "SELECT count(*)::int FROM audit_events WHERE kind = 'login_failed' AND username = \(victim)")
            #expect(failures == 5)
            // The limit holds for the right password too, until the window has passed.
            let right = try await race(server, count: 1, password: server.password) { _ in victim }
            #expect(right.first?.status == .tooManyRequests)
        }
    }

    @Test("30 concurrent wrong passwords for 30 accounts from one address: exactly 20 are checked, 10 are 429")
    func concurrentGuessesFromOneAddress() async throws {
        try await TestAuthServer.run(.live, overrides: Self.patient) { server in
            let prefix = TestMarker().name.lowercased()
            let replies = try await race(server, count: 30, password: "wrong-guess-wrong") { "\(prefix)-\($0)" }
            let statuses = replies.map(\.status.code)
            #expect(statuses.filter { $0 == 401 }.count == 20, "\(statuses)")
            #expect(statuses.filter { $0 == 429 }.count == 10, "\(statuses)")
        }
    }
}
