import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `AuthServer clients prune [--dry-run] [--days N]`, run as an operator would (issue 13, item 3).
@Suite struct ClientsPruneCommandTests {
    static func insert(_ db: AdminDatabase, _ clientID: String, kind: String = "dynamic", ageDays: Double) async throws {
        let client = Client(
            clientID: clientID, authMethod: .none, secretHash: nil, name: "Prune test", clientURI: nil,
            redirectURIs: ["http://127.0.0.1:33418/callback"], grantTypes: ["authorization_code", "refresh_token"],
            scope: ScopeSet("notes:read"), applicationType: "native", registrationKind: kind,
            createdAt: Date().addingTimeInterval(-ageDays * 86400))
        try await db.withDatabase { try await ClientStore(database: $0).insert(client) }
    }

    static func exists(_ db: AdminDatabase, _ clientID: String) async throws -> Bool {
        try await db.withDatabase { try await ClientStore(database: $0).find(clientID) != nil }
    }

    @Test func dryRunListsAndDeletesNothingThenPruneDeletesAndCounts() async throws {
        let db = try await AdminDatabase.make()
        try await Self.insert(db, "old-dynamic", ageDays: 40)
        try await Self.insert(db, "young-dynamic", ageDays: 3)
        try await Self.insert(db, "old-preregistered", kind: Client.preregisteredKind, ageDays: 400)

        let dry = try await db.run("clients", "prune", "--dry-run")
        #expect(dry.status == 0, "\(dry)")
        #expect(dry.stdout.contains("old-dynamic") && !dry.stdout.contains("young-dynamic")
                && !dry.stdout.contains("old-preregistered"), "\(dry)")
        #expect(dry.stdout.contains("1 client(s) unused for 30 days would be deleted"), "\(dry)")
        let json = try await db.run("clients", "prune", "--dry-run", "--json")
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(rows.compactMap { $0["client_id"] as? String } == ["old-dynamic"])
        #expect(try await Self.exists(db, "old-dynamic"))
        #expect(try await db.run("audit", "list", "--kind", "clients_reaped").stdout.contains("count=") == false)

        let pruned = try await db.run("clients", "prune")
        #expect(pruned.status == 0, "\(pruned)")
        #expect(pruned.stdout.contains("deleted client old-dynamic"), "\(pruned)")
        #expect(pruned.stdout.contains("deleted 1 client(s) unused for 30 days"), "\(pruned)")
        #expect(try await Self.exists(db, "old-dynamic") == false)
        #expect(try await Self.exists(db, "young-dynamic"))
        #expect(try await Self.exists(db, "old-preregistered"))
        let audit = try await db.run("audit", "list", "--kind", "clients_reaped")
        #expect(audit.stdout.contains("count=1") && audit.stdout.contains("source=admin-cli"), "\(audit)")

        // --days narrows the window; the pre-registered client is never pruned.
        let short = try await db.run("clients", "prune", "--days", "1")
        #expect(short.status == 0 && short.stdout.contains("deleted 1 client(s) unused for 1 days"), "\(short)")
        #expect(try await Self.exists(db, "young-dynamic") == false)
        #expect(try await Self.exists(db, "old-preregistered"))
    }

    @Test func badDaysAndReapingOffAreRefused() async throws {
        let db = try await AdminDatabase.make()
        try await Self.insert(db, "old-dynamic", ageDays: 40)
        let zero = try await db.run("clients", "prune", "--days", "0")
        #expect(zero.status != 0 && zero.stderr.contains("--days must be between 1 and 3650"), "\(zero)")
        let off = try await AdminProcess.run(["clients", "prune"], environment: ["DATABASE_URL": db.url, "GATEHOUSE_CLIENT_REAP_DAYS": "0"])
        #expect(off.status != 0 && off.stderr.contains("reaping is off"), "\(off)")
        let junk = try await AdminProcess.run(["clients", "prune"], environment: ["DATABASE_URL": db.url, "GATEHOUSE_CLIENT_REAP_DAYS": "x"])
        #expect(junk.status != 0 && junk.stderr.contains("GATEHOUSE_CLIENT_REAP_DAYS"), "\(junk)")
        #expect(try await Self.exists(db, "old-dynamic"))
    }

    @Test func helpWorks() async throws {
        let result = try await AdminProcess.run(["clients", "prune", "--help"], environment: [:])
        #expect(result.status == 0 && result.stdout.contains("--dry-run") && result.stdout.contains("--days"), "\(result)")
    }
}
