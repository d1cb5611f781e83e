import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// `AuthServer clients create / show / update / list / delete` for pre-registered clients
/// (issue 13 item 1), through the built binary.
@Suite struct PreregisteredClientCommandTests {
    static let cursor = "cursor://anysphere.cursor-mcp/oauth/callback"

    static func stored(_ db: AdminDatabase, _ id: String) async throws -> ClientStore.StoredClient? {
        try await db.withDatabase { try await ClientStore(database: $0).stored(id) }
    }

    @Test("create --public with Cursor's redirect, show, list, update, delete")
    func publicClientLifecycle() async throws {
        let db = try await AdminDatabase.make()
        let created = try await db.run("clients", "create", "--name", "Cursor", "--redirect-uri", Self.cursor,
                                       "http://127.0.0.1/callback", "--public", "--id", "cursor")
        #expect(created.status == 0 && created.stdout.contains("created public pre-registered client cursor"), "\(created)")
        #expect(!created.stdout.contains("client_secret"))
        let row = try #require(try await Self.stored(db, "cursor"))
        #expect(row.client.registrationKind == "preregistered" && row.client.isPublic && row.client.secretHash == nil)
        #expect(row.client.redirectURIs == [Self.cursor, "http://127.0.0.1/callback"] && !row.client.trusted)
        #expect(row.client.grantTypes == ["authorization_code", "refresh_token"] && row.client.applicationType == "native")

        let shown = try await db.run("clients", "show", "cursor")
        #expect(shown.status == 0 && shown.stdout.contains("preregistered") && shown.stdout.contains(Self.cursor), "\(shown)")
        let json = try await db.run("clients", "show", "cursor", "--json")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any], "\(json)")
        #expect(object["kind"] as? String == "preregistered" && object["trusted"] as? String == "no")
        #expect(object["has_secret"] as? String == "no")

        let listed = try await db.run("clients", "list")
        #expect(listed.stdout.contains("cursor") && listed.stdout.contains("preregistered"), "\(listed)")

        let updated = try await db.run("clients", "update", "cursor", "--name", "Cursor (team)", "--trusted",
                                       "--redirect-uri", Self.cursor)
        #expect(updated.status == 0 && updated.stdout.contains("updated client cursor"), "\(updated)")
        let after = try #require(try await Self.stored(db, "cursor"))
        #expect(after.client.name == "Cursor (team)" && after.client.trusted && after.client.redirectURIs == [Self.cursor])
        #expect(try await db.run("clients", "update", "cursor", "--no-trusted").status == 0)
        #expect(try await Self.stored(db, "cursor")?.client.trusted == false)
        let audit = try await db.run("audit", "list", "--kind", "client_updated", "--json")
        #expect(audit.stdout.contains("cursor"), "\(audit)")

        let deleted = try await db.run("clients", "delete", "cursor")
        #expect(deleted.status == 0, "\(deleted)")
        #expect(try await Self.stored(db, "cursor")?.deleted == true)
        #expect(!(try await db.run("clients", "list").stdout.contains("Cursor (team)")))
        // A deleted client's id is not handed out again.
        let again = try await db.run("clients", "create", "--name", "Cursor", "--redirect-uri", Self.cursor, "--id", "cursor")
        #expect(again.status == 1 && again.stderr.contains("client_id \"cursor\" is already taken by a deleted client"), "\(again)")
        let gone = try await db.run("clients", "update", "cursor", "--name", "X")
        #expect(gone.status == 1 && gone.stderr.contains("client \"cursor\" was deleted"), "\(gone)")
    }

    @Test("create --secret prints the secret once and stores only its hash; show never prints it")
    func confidentialClient() async throws {
        let db = try await AdminDatabase.make()
        let created = try await db.run("clients", "create", "--name", "Claude", "--redirect-uri",
                                       "https://claude.ai/api/mcp/auth_callback", "--secret", "--trusted")
        #expect(created.status == 0 && created.stdout.contains("created confidential pre-registered client"), "\(created)")
        let lines = created.stdout.split(separator: "\n").map(String.init)
        let id = try #require(lines.first { $0.hasPrefix("client_id: ") }).dropFirst("client_id: ".count)
        let secret = String(try #require(lines.first { $0.hasPrefix("client_secret: ") }).dropFirst("client_secret: ".count))
        #expect(secret.count >= 43)
        let row = try #require(try await Self.stored(db, String(id)))
        #expect(row.client.secretHash == Digest.sha256(secret) && row.client.authMethod == .clientSecretBasic)
        #expect(row.client.trusted && row.client.applicationType == "web")
        let shown = try await db.run("clients", "show", String(id))
        #expect(shown.status == 0 && !shown.stdout.contains(secret) && shown.stdout.contains("yes"), "\(shown)")
        let audit = try await db.run("audit", "list", "--kind", "client_registered", "--json")
        #expect(audit.stdout.contains(String(id)) && !audit.stdout.contains(secret))
    }

    @Test("serve stops with exit code 78 and one line naming the key of a bad clients: entry")
    func serveRefusesBadEntry() async throws {
        let db = try await AdminDatabase.make()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-prereg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try "clients:\n  - id: cursor\n    name: Cursor\n    redirect_uris: [\"https://ok.example/cb\", \"http://example.com/cb\"]\n    public: true\n"
            .write(toFile: path, atomically: true, encoding: .utf8)
        let result = try await AdminProcess.run(["serve"], environment: [
            "DATABASE_URL": db.url, "GATEHOUSE_KEK": db.kek, "GATEHOUSE_AUTH_PORT": "0", "GATEHOUSE_CONFIG": path,
        ])
        #expect(result.status == 78, "\(result)")
        #expect(result.stderr.contains("error: configuration error: GATEHOUSE_CONFIG \(path): clients[0].redirect_uris[1]: http redirect URIs are allowed only for loopback hosts"), "\(result)")
    }

    @Test(arguments: [["clients", "create"], ["clients", "show"], ["clients", "update"]])
    func helpWorks(_ path: [String]) async throws {
        let result = try await AdminProcess.run(path + ["--help"], environment: [:])
        #expect(result.status == 0 && result.stdout.contains("USAGE:"), "\(result)")
    }

    @Test("Bad redirect URIs, duplicate ids, unknown ids and other kinds: clear messages and exit codes")
    func errors() async throws {
        let db = try await AdminDatabase.make()
        let http = try await db.run("clients", "create", "--name", "X", "--redirect-uri", "http://example.com/cb")
        #expect(http.status == 64 && http.stderr.contains("http redirect URIs are allowed only for loopback hosts")
                && http.stderr.contains("\"http://example.com/cb\""), "\(http)")
        let fragment = try await db.run("clients", "create", "--name", "X", "--redirect-uri", "https://ok.example/cb",
                                        "https://a.example/cb#frag")
        #expect(fragment.status == 64 && fragment.stderr.contains("must not contain a fragment: \"https://a.example/cb#frag\""),
                "\(fragment)")
        let script = try await db.run("clients", "create", "--name", "X", "--redirect-uri", "javascript:alert(1)")
        #expect(script.status == 64 && script.stderr.contains("scheme javascript is not allowed"), "\(script)")
        let none = try await db.run("clients", "create", "--name", "X")
        #expect(none.status == 64 && none.stderr.contains("--redirect-uri is required"), "\(none)")
        let both = try await db.run("clients", "create", "--name", "X", "--redirect-uri", Self.cursor, "--public", "--secret")
        #expect(both.status == 64 && both.stderr.contains("use one of --public and --secret"), "\(both)")
        let url = try await db.run("clients", "create", "--name", "X", "--redirect-uri", Self.cursor, "--id", "https://x.example/c")
        #expect(url.status == 64 && url.stderr.contains("--id must be"), "\(url)")

        #expect(try await db.run("clients", "create", "--name", "A", "--redirect-uri", Self.cursor, "--id", "dup").status == 0)
        let duplicate = try await db.run("clients", "create", "--name", "B", "--redirect-uri", Self.cursor, "--id", "dup")
        #expect(duplicate.status == 1 && duplicate.stderr.contains("client_id \"dup\" is already taken by a client of kind preregistered"),
                "\(duplicate)")

        let unknownShow = try await db.run("clients", "show", "nope")
        #expect(unknownShow.status == 1 && unknownShow.stderr.contains("no client with client_id \"nope\""), "\(unknownShow)")
        let unknownUpdate = try await db.run("clients", "update", "nope", "--name", "X")
        #expect(unknownUpdate.status == 1 && unknownUpdate.stderr.contains("no client with client_id \"nope\""), "\(unknownUpdate)")
        let nothing = try await db.run("clients", "update", "dup")
        #expect(nothing.status == 64 && nothing.stderr.contains("nothing to change"), "\(nothing)")
        let badUpdate = try await db.run("clients", "update", "dup", "--redirect-uri", "http://example.com/cb")
        #expect(badUpdate.status == 64 && badUpdate.stderr.contains("\"http://example.com/cb\""), "\(badUpdate)")

        try await db.insertClient("dynamic-one")
        let dynamic = try await db.run("clients", "update", "dynamic-one", "--trusted")
        #expect(dynamic.status == 1 && dynamic.stderr.contains("is of kind dynamic; only pre-registered clients can be updated"),
                "\(dynamic)")
        let taken = try await db.run("clients", "create", "--name", "X", "--redirect-uri", Self.cursor, "--id", "dynamic-one")
        #expect(taken.status == 1 && taken.stderr.contains("kind dynamic"), "\(taken)")
    }
}
