import Foundation
import PostgresNIO
import Synchronization
import Testing
import TestSupport
@testable import Shared

/// `UserConnectionStore` on real PostgreSQL: sealed rows, the refresh decision, and refreshes
/// coalesced by the row lock.
@Suite struct UserConnectionStoreTests {
    static func user(_ database: Database) async throws -> UUID {
        let id = UUID()
        _ = try await database.query("""
            INSERT INTO users (id, username, password_hash) VALUES (\(id), \(TestDatabase.uniqueName("conn")), 'x')
            """)
        return id
    }

    static let now = Date(timeIntervalSince1970: 1_900_000_000)

    @Test func storedTokensAreSealedAndOpenForTheirUser() async throws {
        try await TestDatabase.withDatabase { database in
            let store = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: .generate()))
            let user = try await Self.user(database)
            let tokens = ConnectionTokens(accessToken: "at-plain-1", refreshToken: "rt-plain-1",
                                          expiresAt: Self.now.addingTimeInterval(3600), scopes: "read")
            try await store.save(userID: user, connectionID: "crm", tokens: tokens, now: Self.now)
            let raw = try await database.query("SELECT access_token_sealed, refresh_token_sealed FROM user_connections WHERE user_id = \(user)")
            let row = try #require(raw.first).columns
            let access: ByteBuffer = try row["access_token_sealed"]
            #expect(!String(buffer: access).contains("at-plain-1"))
            let lookup = try await store.current(userID: user, connectionID: "crm", now: Self.now, window: 60) { _ in
                Issue.record("a fresh token is not refreshed")
                return .failed(reason: "unexpected")
            }
            #expect(lookup == .live(tokens))
            #expect(try await store.summaries(userID: user).map(\.status) == [.live])
            #expect(try await store.current(userID: user, connectionID: "other", now: Self.now, window: 60) { _ in .failed(reason: "") } == .missing)
        }
    }

    @Test func concurrentRefreshesCallTheProviderOnce() async throws {
        try await TestDatabase.withDatabase { database in
            let seal = ConnectionTokenSeal(kek: .generate())
            // Two stores over two pools: two replicas of the ResourceServer.
            let replicaA = UserConnectionStore(database: database, seal: seal)
            let other = try Database(configuration: try TestDatabase.configuration(), logger: TestDatabase.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await other.client.run() }
                defer { group.cancelAll() }
                let replicaB = UserConnectionStore(database: other, seal: seal)
                let user = try await Self.user(database)
                try await replicaA.save(userID: user, connectionID: "crm", tokens: ConnectionTokens(
                    accessToken: "at-old", refreshToken: "rt-old", expiresAt: Self.now.addingTimeInterval(30), scopes: "read"), now: Self.now)
                let calls = Mutex<[String]>([])
                let refresh: @Sendable (String) async -> ConnectionTokenOutcome = { presented in
                    calls.withLock { $0.append(presented) }
                    try? await Task.sleep(for: .milliseconds(300))
                    return .tokens(ConnectionTokens(accessToken: "at-new", refreshToken: "rt-rotated",
                                                    expiresAt: Self.now.addingTimeInterval(3600), scopes: ""))
                }
                async let first = replicaA.current(userID: user, connectionID: "crm", now: Self.now, window: 60, refresh: refresh)
                async let second = replicaB.current(userID: user, connectionID: "crm", now: Self.now, window: 60, refresh: refresh)
                let (a, b) = try await (first, second)
                #expect(calls.withLock { $0 } == ["rt-old"])
                guard case .live(let tokensA) = a, case .live(let tokensB) = b else {
                    Issue.record("both callers get a token: \(a), \(b)")
                    return
                }
                #expect(tokensA.accessToken == "at-new" && tokensB.accessToken == "at-new")
                // The rotated refresh token replaced the old one; the scopes were kept.
                let stored = try #require(try await replicaA.find(userID: user, connectionID: "crm"))
                #expect(stored.tokens.refreshToken == "rt-rotated")
                #expect(stored.tokens.scopes == "read")
            }
        }
    }

    @Test func aRefusedRefreshBreaksTheConnection() async throws {
        try await TestDatabase.withDatabase { database in
            let store = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: .generate()))
            let user = try await Self.user(database)
            try await store.save(userID: user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "at", refreshToken: "rt", expiresAt: Self.now.addingTimeInterval(-5), scopes: ""), now: Self.now)
            let lookup = try await store.current(userID: user, connectionID: "crm", now: Self.now, window: 60) { _ in
                .refused(error: "invalid_grant")
            }
            #expect(lookup == .broken)
            #expect(try await store.summaries(userID: user).map(\.status) == [.broken])
            // Broken stays broken without asking the provider again; reconnecting makes it live.
            #expect(try await store.current(userID: user, connectionID: "crm", now: Self.now, window: 60) { _ in
                Issue.record("a broken connection is not refreshed")
                return .failed(reason: "")
            } == .broken)
            try await store.save(userID: user, connectionID: "crm", tokens: ConnectionTokens(
                accessToken: "at2", refreshToken: nil, expiresAt: nil, scopes: ""), now: Self.now)
            #expect(try await store.current(userID: user, connectionID: "crm", now: Self.now, window: 60) { _ in .failed(reason: "") }
                    == .live(ConnectionTokens(accessToken: "at2", refreshToken: nil, expiresAt: nil, scopes: "")))
            #expect(try await store.delete(userID: user, connectionID: "crm")?.accessToken == "at2")
            #expect(try await store.summaries(userID: user).isEmpty)
        }
    }

    @Test func anUnreachableProviderKeepsAStillValidToken() async throws {
        try await TestDatabase.withDatabase { database in
            let store = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: .generate()))
            let user = try await Self.user(database)
            let tokens = ConnectionTokens(accessToken: "at", refreshToken: "rt", expiresAt: Self.now.addingTimeInterval(20), scopes: "")
            try await store.save(userID: user, connectionID: "crm", tokens: tokens, now: Self.now)
            #expect(try await store.current(userID: user, connectionID: "crm", now: Self.now, window: 60) { _ in .failed(reason: "down") }
                    == .live(tokens))
            #expect(try await store.current(userID: user, connectionID: "crm", now: Self.now.addingTimeInterval(30), window: 60) { _ in
                .failed(reason: "down")
            } == .unavailable(reason: "down"))
        }
    }

    @Test(arguments: [
        (UserConnectionStore.Status.broken, 3600.0, true, ConnectionRefreshDecision.broken),
        (.live, 3600, true, .use),
        (.live, 30, true, .refresh),
        (.live, -30, true, .refresh),
        (.live, 30, false, .use),
        (.live, -30, false, .broken),
    ])
    func theDecision(status: UserConnectionStore.Status, expiresIn: Double, refreshable: Bool, expected: ConnectionRefreshDecision) {
        #expect(ConnectionRefreshDecision.decide(status: status, expiresAt: Self.now.addingTimeInterval(expiresIn),
                                                 hasRefreshToken: refreshable, now: Self.now, window: 60) == expected)
        #expect(ConnectionRefreshDecision.decide(status: .live, expiresAt: nil, hasRefreshToken: refreshable, now: Self.now,
                                                 window: 60) == .use)
    }
}
