import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import ResourceServer

/// The two small RS stores of the gateway, on real PostgreSQL.
@Suite("Gateway stores")
struct GatewayStoresTests {
    @Test("every replica gets the same session key, created once, even when they start together")
    func oneSharedSessionKey() async throws {
        try await TestDatabase.withDatabase { database in
            let store = GatewaySessionKeyStore(database: database)
            let keys = try await withThrowingTaskGroup(of: [UInt8].self) { group in
                for _ in 0..<8 { group.addTask { try await store.loadOrCreate() } }
                return try await group.reduce(into: [[UInt8]]()) { $0.append($1) }
            }
            #expect(Set(keys).count == 1 && keys[0].count == 32)
            // Two bindings over the store (two replicas): an id sealed by one opens on the other.
            let one = GatewaySessionBinding(store: store), two = GatewaySessionBinding(store: store)
            let sealed = try await one.seal("upstream-session", resource: "http://localhost:8000/mcp/crm", subject: "s-1")
            #expect(try await two.open(sealed, resource: "http://localhost:8000/mcp/crm", subject: "s-1") == "upstream-session")
            #expect(try await two.open(sealed, resource: "http://localhost:8000/mcp/crm", subject: "s-2") == nil)
        }
    }

    @Test("usernames by subject from the users table; unknown and non-uuid subjects are nil")
    func usernamesBySubject() async throws {
        try await TestDatabase.withDatabase { database in
            let id = UUID()
            let name = TestDatabase.uniqueName("gw")
            _ = try await database.query(
                "INSERT INTO users (id, username, password_hash) VALUES (\(id), \(name), \("x"))")
            let store = UsernameStore(database: database)
            #expect(try await store.username(subject: id.uuidString.lowercased()) == name)
            #expect(try await store.username(subject: UUID().uuidString.lowercased()) == nil)
            #expect(try await store.username(subject: "benchmark") == nil)
            // Cached: a rename shows after the cache lifetime, not on the next call.
            _ = try await database.query("UPDATE users SET username = \(name + "-renamed") WHERE id = \(id)")
            #expect(try await store.username(subject: id.uuidString.lowercased()) == name)
        }
    }
}
