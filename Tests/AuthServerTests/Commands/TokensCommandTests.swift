import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `AuthServer tokens create/list/revoke` (issue 13 item 2) through the built binary: the key is
/// printed once and stored only as a hash, resources and scopes come from the configuration, and
/// revocation (by the command or by `users disable`) lands in the revocation feed's table.
@Suite struct TokensCommandTests {
    static func user(_ db: AdminDatabase) async throws -> String {
        let name = TestDatabase.uniqueName("pat")
        let created = try await db.run("users", "create", name, "--password-stdin", stdin: "correct horse battery\n")
        #expect(created.status == 0, "\(created)")
        return name
    }

    static func storedHashes(_ db: AdminDatabase) async throws -> [[UInt8]] {
        try await db.withDatabase { database in
            try await database.query("SELECT secret_hash FROM api_keys").map { Array(buffer: try $0.decode(ByteBuffer.self)) }
        }
    }

    static func revocationListed(_ db: AdminDatabase, _ id: String) async throws -> Bool {
        try await db.withDatabase { database in
            try await !database.query("SELECT 1 FROM revoked_access_tokens WHERE jti = \(APIKeySecret.revocationID(keyID: id))").isEmpty
        }
    }

    static func listed(_ db: AdminDatabase, _ arguments: String...) async throws -> [[String: Any]] {
        let result = try await AdminProcess.run(["tokens", "list", "--json"] + arguments, environment: ["DATABASE_URL": db.url])
        #expect(result.status == 0, "\(result)")
        return try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
    }

    @Test("create prints the key once and stores its hash; list never shows it; revoke lists it for the feed")
    func createListRevoke() async throws {
        let db = try await AdminDatabase.make()
        let alice = try await Self.user(db)
        let created = try await db.run("tokens", "create", "--user", alice, "--resource", "http://localhost:8000/mcp",
                                       "--scope", "notes:read", "--scope", "notes:write", "--expires", "30d", "--name", "laptop")
        #expect(created.status == 0, "\(created)")
        let key = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("gh_pat_") && key.count == 50, "\(created)")
        #expect(created.stderr.contains("shown only this once"))
        #expect(try await Self.storedHashes(db) == [try #require(APIKeySecret.hash(key))])

        let rows = try await Self.listed(db, "--user", alice)
        let row = try #require(rows.first)
        #expect(rows.count == 1)
        #expect(row["name"] as? String == "laptop" && row["user"] as? String == alice)
        #expect(row["scope"] as? String == "notes:read notes:write" && row["state"] as? String == "active")
        #expect(row["resource"] as? String == "http://localhost:8000/mcp" && row["client"] as? String == "api-key")
        let expires = try #require((row["expires"] as? String).flatMap { try? Date($0, strategy: .iso8601) })
        #expect(abs(expires.timeIntervalSinceNow - 30 * 86_400) < 120)
        let id = try #require(row["id"] as? String)
        let text = try await db.run("tokens", "list")
        #expect(text.status == 0 && text.stdout.contains(id) && !text.stdout.contains(key), "\(text)")
        #expect(try await Self.listed(db, "--user", "nobody-\(UUID().uuidString.prefix(6).lowercased())").isEmpty)

        let revoked = try await db.run("tokens", "revoke", id)
        #expect(revoked.status == 0 && revoked.stdout.contains("revoked API key \(id)"), "\(revoked)")
        #expect(try await Self.revocationListed(db, id))
        #expect(try await Self.listed(db).first?["state"] as? String == "revoked")
        let again = try await db.run("tokens", "revoke", id)
        #expect(again.status == 0 && again.stdout.contains("already revoked"), "\(again)")
        let audit = try await db.run("audit", "list", "--json")
        #expect(audit.stdout.contains("api_key_created") && audit.stdout.contains("api_key_revoked") && !audit.stdout.contains(key))
    }

    @Test("bad inputs are refused with a message naming the problem, and nothing is stored")
    func badInputs() async throws {
        let db = try await AdminDatabase.make()
        let alice = try await Self.user(db)
        let base = ["tokens", "create", "--user", alice, "--resource", "/mcp", "--scope", "notes:read"]
        let cases: [([String], String)] = [
            (base, "--expires"),
            (base + ["--expires", "366d"], "at most 365d"),
            (base + ["--expires", "30"], "like 30d or 12h"),
            (base + ["--expires", "0d"], "like 30d or 12h"),
            (["tokens", "create", "--user", alice, "--resource", "http://localhost:8000/other", "--scope", "notes:read",
              "--expires", "1d"], "unknown resource \"http://localhost:8000/other\""),
            (["tokens", "create", "--user", alice, "--resource", "/mcp", "--scope", "crm:read", "--expires", "1d"],
             "scope \"crm:read\" is not one of"),
            (["tokens", "create", "--user", alice, "--resource", "/mcp", "--scope", "openid", "--expires", "1d"],
             "scope \"openid\" is not one of"),
            (["tokens", "create", "--user", "nobody", "--resource", "/mcp", "--scope", "notes:read", "--expires", "1d"],
             "no user named \"nobody\""),
            (["tokens", "revoke", "not-a-uuid"], "is not a key ID"),
            (["tokens", "revoke", UUID().uuidString], "no API key with ID"),
        ]
        for (arguments, message) in cases {
            let result = try await AdminProcess.run(arguments, environment: ["DATABASE_URL": db.url])
            #expect(result.status != 0, "\(arguments)")
            #expect(result.stderr.contains(message), "\(arguments): \(result)")
        }
        #expect(try await Self.storedHashes(db).isEmpty)
    }

    @Test("a disabled user gets no key, and disabling a user revokes their keys")
    func disabledUser() async throws {
        let db = try await AdminDatabase.make()
        let bob = try await Self.user(db)
        let created = try await db.run("tokens", "create", "--user", bob, "--resource", "/mcp", "--scope", "notes:read",
                                       "--expires", "12h")
        #expect(created.status == 0, "\(created)")
        let id = try #require(try await Self.listed(db).first?["id"] as? String)
        #expect(try await db.run("users", "disable", bob).status == 0)
        #expect(try await Self.revocationListed(db, id))
        #expect(try await Self.listed(db).first?["state"] as? String == "revoked")
        let refused = try await db.run("tokens", "create", "--user", bob, "--resource", "/mcp", "--scope", "notes:read",
                                       "--expires", "12h")
        #expect(refused.status != 0 && refused.stderr.contains("is disabled"), "\(refused)")
    }

    @Test("with GATEHOUSE_CONFIG, a key is for one of its resources (by path) and that resource's scopes")
    func configuredResources() async throws {
        let db = try await AdminDatabase.make()
        let alice = try await Self.user(db)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-pat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try """
            resources:
              - path: /mcp/notes
                builtin: notes
              - path: /mcp/crm
                name: CRM
                scopes:
                  crm:read: Read the CRM
                tools:
                  "*": [crm:read]
                upstream:
                  http:
                    url: http://127.0.0.1:1/mcp
            """.write(toFile: path, atomically: true, encoding: .utf8)
        let environment = ["DATABASE_URL": db.url, "GATEHOUSE_CONFIG": path]
        let created = try await AdminProcess.run(["tokens", "create", "--user", alice, "--resource", "/mcp/crm",
                                                  "--scope", "crm:read", "--expires", "7d"], environment: environment)
        #expect(created.status == 0, "\(created)")
        #expect(try await Self.listed(db).first?["resource"] as? String == "http://localhost:8000/mcp/crm")
        let wrong = try await AdminProcess.run(["tokens", "create", "--user", alice, "--resource", "/mcp/crm",
                                                "--scope", "notes:read", "--expires", "7d"], environment: environment)
        #expect(wrong.status != 0 && wrong.stderr.contains("scope \"notes:read\" is not one of"), "\(wrong)")
    }
}
