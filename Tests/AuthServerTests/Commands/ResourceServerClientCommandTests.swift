import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `AuthServer clients create-resource-server` and `AuthServer migrate` with `GATEHOUSE_RS_CLIENT_ID`:
/// the ResourceServer's own confidential client for token exchange, through the built binary.
@Suite struct ResourceServerClientCommandTests {
    struct Row: Sendable {
        let method: String
        let kind: String
        let redirectURIs: [String]
        let grantTypes: [String]
        let secretHash: [UInt8]?
        let deleted: Bool
    }

    static func row(_ db: AdminDatabase, _ id: String) async throws -> Row? {
        try await db.withDatabase { database in
            try await database.query("""
                SELECT token_endpoint_auth_method, registration_kind, redirect_uris, grant_types, secret_hash,
                       deleted_at IS NOT NULL
                FROM clients WHERE client_id = \(id)
                """).first.map {
                let (method, kind, redirects, grants, hash, deleted) = try $0.decode(
                    (String, String, [String], [String], ByteBuffer?, Bool).self)
                return Row(method: method, kind: kind, redirectURIs: redirects, grantTypes: grants,
                           secretHash: hash.map { Array(buffer: $0) }, deleted: deleted)
            }
        }
    }

    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-rs-client-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    static func contents(_ path: String) throws -> String {
        String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
    }

    @Test("A fresh secret is written with mode 0600; running again reads it; another file rotates it")
    func createReadRotate() async throws {
        let db = try await AdminDatabase.make()
        let directory = try Self.scratch()
        let file = directory.appendingPathComponent("rs-secret").path
        let created = try await db.run("clients", "create-resource-server", "--secret-file", file)
        #expect(created.status == 0 && created.stdout.contains("created resource-server client gatehouse-resource-server"), "\(created)")
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int)
        #expect(mode == 0o600)
        let secret = try Self.contents(file)
        #expect(secret.count >= 43 && !secret.contains("\n"))
        let row = try #require(try await Self.row(db, "gatehouse-resource-server"))
        #expect(row.method == "client_secret_basic" && row.kind == "resource_server" && row.redirectURIs.isEmpty)
        #expect(row.grantTypes == [TokenExchangeGrant.grantType])
        #expect(row.secretHash == Digest.sha256(secret))

        let again = try await db.run("clients", "create-resource-server", "--secret-file", file)
        #expect(again.status == 0 && again.stdout.contains("updated") && again.stdout.contains("its secret is the one in"), "\(again)")
        #expect(try Self.contents(file) == secret)
        #expect(try await Self.row(db, "gatehouse-resource-server")?.secretHash == Digest.sha256(secret))

        // Rotation: the operator's own secret (a trailing newline is not part of it).
        let rotated = directory.appendingPathComponent("rs-secret-2").path
        let chosen = String(repeating: "k", count: 40)
        try (chosen + "\n").write(toFile: rotated, atomically: true, encoding: .utf8)
        #expect(try await db.run("clients", "create-resource-server", "--secret-file", rotated).status == 0)
        #expect(try await Self.row(db, "gatehouse-resource-server")?.secretHash == Digest.sha256(chosen))

        let listed = try await db.run("clients", "list")
        #expect(listed.stdout.contains("gatehouse-resource-server") && listed.stdout.contains("resource_server"), "\(listed)")
        let audit = try await db.run("audit", "list", "--kind", "client_registered", "--json")
        #expect(audit.stdout.contains("resource_server") && !audit.stdout.contains(secret) && !audit.stdout.contains(chosen))

        // Deleted, then created again: restored with the secret given.
        #expect(try await db.run("clients", "delete", "gatehouse-resource-server").status == 0)
        #expect(try await db.run("clients", "create-resource-server", "--secret-file", file).status == 0)
        let restored = try #require(try await Self.row(db, "gatehouse-resource-server"))
        #expect(!restored.deleted && restored.secretHash == Digest.sha256(secret))
    }

    @Test("Refused: a short secret, a client_id of another kind, an id that is a URL")
    func refusals() async throws {
        let db = try await AdminDatabase.make()
        let directory = try Self.scratch()
        let short = directory.appendingPathComponent("short").path
        try "tooshort".write(toFile: short, atomically: true, encoding: .utf8)
        let weak = try await db.run("clients", "create-resource-server", "--secret-file", short)
        #expect(weak.status != 0 && weak.stderr.contains("at least 32"), "\(weak)")

        let taken = TestDatabase.uniqueName("dynamic")
        try await db.insertClient(taken)
        let file = directory.appendingPathComponent("secret").path
        let conflict = try await db.run("clients", "create-resource-server", "--id", taken, "--secret-file", file)
        #expect(conflict.status != 0 && conflict.stderr.contains("kind dynamic"), "\(conflict)")
        #expect(try await Self.row(db, taken)?.kind == "dynamic")

        let url = try await db.run("clients", "create-resource-server", "--id", "https://rs.example", "--secret-file", file)
        #expect(url.status != 0 && url.stderr.contains("--id"), "\(url)")
    }

    @Test("migrate creates the client from GATEHOUSE_RS_CLIENT_ID and GATEHOUSE_RS_CLIENT_SECRET_FILE; one alone is exit 78")
    func migrateCreatesTheClient() async throws {
        let db = try await AdminDatabase.make()
        let file = try Self.scratch().appendingPathComponent("rs-secret").path
        let id = TestDatabase.uniqueName("rs")
        let migrated = try await AdminProcess.run(["migrate"], environment: [
            "DATABASE_URL": db.url, "GATEHOUSE_RS_CLIENT_ID": id, "GATEHOUSE_RS_CLIENT_SECRET_FILE": file,
        ])
        #expect(migrated.status == 0 && migrated.stdout.contains("created resource-server client \(id)"), "\(migrated)")
        #expect(try await Self.row(db, id)?.secretHash == Digest.sha256(try Self.contents(file)))

        let alone = try await AdminProcess.run(["migrate"], environment: ["DATABASE_URL": db.url, "GATEHOUSE_RS_CLIENT_ID": id])
        #expect(alone.status == ConfigurationError.exitCode && alone.stderr.contains("GATEHOUSE_RS_CLIENT_SECRET_FILE"), "\(alone)")
        let plain = try await AdminProcess.run(["migrate"], environment: ["DATABASE_URL": db.url])
        #expect(plain.status == 0 && !plain.stdout.contains("resource-server"), "\(plain)")
    }
}
