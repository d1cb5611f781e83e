import Foundation
import Logging
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// The admin command line end to end: the built `AuthServer` binary, run as an operator would,
/// against a database of its own (key rotation must not disturb other tests' signing keys).
@Suite struct AdminCommandTests {
    @Test func userLifecycle() async throws {
        let db = try await AdminDatabase.make()
        let name = TestDatabase.uniqueName("Operator")
        let created = try await db.run("users", "create", name, "--password-stdin", stdin: "correct horse battery\n")
        #expect(created.status == 0, "\(created)")
        let duplicate = try await db.run("users", "create", name, stdin: "correct horse battery\n")
        #expect(duplicate.status != 0 && duplicate.stderr.contains("already exists"), "\(duplicate)")
        let weak = try await db.run("users", "create", TestDatabase.uniqueName("weak"), stdin: "short\n")
        #expect(weak.status != 0 && weak.stderr.contains("error: invalid password"), "\(weak)")

        let listed = try await db.run("users", "list")
        let row = try #require(listed.stdout.split(separator: "\n").first { $0.hasPrefix(name.lowercased() + " ") })
        #expect(row.contains("enabled"))
        let json = try await db.run("users", "list", "--json")
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
        #expect(objects.contains { $0["username"] as? String == name.lowercased() && $0["state"] as? String == "enabled" })

        #expect(try await db.run("users", "disable", name).status == 0)
        #expect(try await db.run("users", "list").stdout.contains("disabled"))
        #expect(try await db.authenticate(name, "correct horse battery") == nil)

        #expect(try await db.run("users", "enable", name).status == 0)
        #expect(try await db.run("users", "set-password", name, "--password-stdin", stdin: "another fine password\n").status == 0)
        #expect(try await db.authenticate(name, "correct horse battery") == nil)
        #expect(try await db.authenticate(name, "another fine password") != nil)

        let missing = try await db.run("users", "disable", "nobody-here")
        #expect(missing.status != 0 && missing.stderr.contains("no user named"), "\(missing)")

        let audit = try await db.run("audit", "list", "--limit", "20")
        for kind in ["user_created", "user_disabled", "user_enabled", "password_changed"] {
            #expect(audit.stdout.contains(kind), "\(kind) missing from\n\(audit.stdout)")
        }
        let filtered = try await db.run("audit", "list", "--kind", "user_disabled", "--json")
        let events = try #require(try JSONSerialization.jsonObject(with: Data(filtered.stdout.utf8)) as? [[String: Any]])
        #expect(events.count == 1 && events.allSatisfy { $0["kind"] as? String == "user_disabled" })
        #expect(try await db.run("audit", "list", "--kind", "bogus").status != 0)
    }

    @Test("users create/update --email --name (OpenID Connect claims), shown by users list")
    func userProfileAttributes() async throws {
        let db = try await AdminDatabase.make()
        let name = TestDatabase.uniqueName("profiled")
        let created = try await db.run("users", "create", name, "--password-stdin", "--email", "Pat@Example.com",
                                       "--name", "Pat Q. Public", stdin: "correct horse battery\n")
        #expect(created.status == 0, "\(created)")
        func listed() async throws -> [String: Any] {
            let json = try await db.run("users", "list", "--json")
            let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]])
            return try #require(objects.first { $0["username"] as? String == name })
        }
        var row = try await listed()
        #expect(row["email"] as? String == "Pat@Example.com" && row["name"] as? String == "Pat Q. Public")
        #expect(row["email_verified"] as? String == "no")
        #expect(try await db.run("users", "list").stdout.contains("Pat@Example.com"))

        let updated = try await db.run("users", "update", name, "--email", "pat@example.org", "--email-verified")
        #expect(updated.status == 0, "\(updated)")
        row = try await listed()
        #expect(row["email"] as? String == "pat@example.org" && row["email_verified"] as? String == "yes")
        #expect(row["name"] as? String == "Pat Q. Public")
        // A new address is unverified again; "" removes a claim.
        #expect(try await db.run("users", "update", name, "--email", "p@example.net", "--name", "").status == 0)
        row = try await listed()
        #expect(row["email"] as? String == "p@example.net" && row["email_verified"] as? String == "no")
        #expect(row["name"] is NSNull)
        let user = try #require(try await db.authenticate(name, "correct horse battery"))
        #expect(user.email == "p@example.net" && user.name == nil)

        for bad in ["not-an-address", "a@b", "two@@example.com", "sp ace@example.com", "x@-bad-.com"] {
            let refused = try await db.run("users", "update", name, "--email", bad)
            #expect(refused.status != 0 && refused.stderr.contains("error: invalid email"), "\(bad): \(refused)")
        }
        let badCreate = try await db.run("users", "create", TestDatabase.uniqueName("bad"), "--password-stdin",
                                         "--email", "nope", stdin: "correct horse battery\n")
        #expect(badCreate.status != 0 && badCreate.stderr.contains("error: invalid email"), "\(badCreate)")
        let control = try await db.run("users", "update", name, "--name", "evil\u{1B}[31m")
        #expect(control.status != 0 && control.stderr.contains("error: invalid name"), "\(control)")
        let nothing = try await db.run("users", "update", name)
        #expect(nothing.status != 0 && nothing.stderr.contains("nothing to change"), "\(nothing)")
        let missing = try await db.run("users", "update", "nobody-here", "--name", "X")
        #expect(missing.status != 0 && missing.stderr.contains("no user named"), "\(missing)")
        #expect(try await db.run("audit", "list", "--kind", "user_updated").stdout.contains(name))
    }

    @Test("users create --update-existing sets an existing user's password instead of failing, like set-password")
    func createUpdateExisting() async throws {
        let db = try await AdminDatabase.make()
        let name = TestDatabase.uniqueName("provisioned")
        let first = try await db.run("users", "create", name, "--password-stdin", "--update-existing",
                                     stdin: "correct horse battery\n")
        #expect(first.status == 0 && first.stdout.contains("created user \(name)"), "\(first)")
        let duplicate = try await db.run("users", "create", name, "--password-stdin", stdin: "another fine password\n")
        #expect(duplicate.status != 0 && duplicate.stderr.contains("already exists"), "\(duplicate)")
        #expect(try await db.authenticate(name, "correct horse battery") != nil)

        let again = try await db.run("users", "create", name, "--password-stdin", "--update-existing",
                                     stdin: "another fine password\n")
        #expect(again.status == 0 && again.stdout.contains("changed the password of \(name); their tokens"), "\(again)")
        #expect(try await db.authenticate(name, "correct horse battery") == nil)
        #expect(try await db.authenticate(name, "another fine password") != nil)
        let kept = try await db.run("users", "create", name, "--password-stdin", "--update-existing", "--keep-sessions",
                                    stdin: "a third fine password\n")
        #expect(kept.status == 0 && kept.stdout.contains("sessions and tokens are kept"), "\(kept)")
        #expect(try await db.authenticate(name, "a third fine password") != nil)
        let weak = try await db.run("users", "create", name, "--password-stdin", "--update-existing", stdin: "short\n")
        #expect(weak.status != 0 && weak.stderr.contains("error: invalid password"), "\(weak)")
        #expect(try await db.authenticate(name, "a third fine password") != nil)

        let noFlag = try await db.run("users", "create", name, "--password-stdin", "--keep-sessions", stdin: "correct horse battery\n")
        #expect(noFlag.status != 0 && noFlag.stderr.contains("--keep-sessions needs --update-existing"), "\(noFlag)")
        let profile = try await db.run("users", "create", name, "--password-stdin", "--update-existing", "--name", "X",
                                       stdin: "correct horse battery\n")
        #expect(profile.status != 0 && profile.stderr.contains("users update"), "\(profile)")

        let audit = try await db.run("audit", "list", "--json")
        let events = try #require(try JSONSerialization.jsonObject(with: Data(audit.stdout.utf8)) as? [[String: Any]])
        #expect(events.filter { $0["kind"] as? String == "user_created" }.count == 1)
        #expect(events.filter { $0["kind"] as? String == "password_changed" }.count == 2)

        let help = try await AdminProcess.run(["users", "create", "--help"], environment: [:])
        #expect(help.status == 0 && help.stdout.contains("--update-existing") && help.stdout.contains("--keep-sessions"),
                "\(help)")
    }

    @Test func clientsListAndDelete() async throws {
        let db = try await AdminDatabase.make()
        let clientID = TestDatabase.uniqueName("client")
        try await db.insertClient(clientID)
        #expect(try await db.run("clients", "list").stdout.contains(clientID))
        let deleted = try await db.run("clients", "delete", clientID)
        #expect(deleted.status == 0, "\(deleted)")
        #expect(try await db.run("clients", "list").stdout.contains(clientID) == false)
        let again = try await db.run("clients", "delete", clientID)
        #expect(again.status != 0 && again.stderr.contains("no client"), "\(again)")
        #expect(try await db.run("audit", "list", "--kind", "client_deleted").stdout.contains(clientID))
    }

    @Test func keysRotateThenList() async throws {
        let db = try await AdminDatabase.make()
        let rotated = try await db.run("keys", "rotate", keys: true)
        #expect(rotated.status == 0, "\(rotated)")
        let listed = try await db.run("keys", "list", "--json", keys: true)
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(keys.count == 2)
        #expect(Set(keys.compactMap { $0["state"] as? String }) == ["active", "pending"])
        let table = try await db.run("keys", "list", keys: true)
        #expect(table.stdout.hasPrefix("KID"))
        #expect(try await db.run("keys", "rotate", "--immediately", keys: true).status == 0)
        #expect(try await db.run("audit", "list", "--kind", "key_rotated").stdout.contains("immediately=true"))

        let noKEK = try await db.run("keys", "list")
        #expect(noKEK.status == 78 && noKEK.stderr.hasPrefix("error: ") && noKEK.stderr.contains("GATEHOUSE_KEK"), "\(noKEK)")
    }

    @Test func migrateReportsTheSchema() async throws {
        let db = try await AdminDatabase.make()
        let result = try await db.run("migrate")
        #expect(result.status == 0 && result.stdout.contains("up to date"), "\(result)")
    }

    @Test(arguments: [
        ("not a url", "DATABASE_URL"),
        ("mysql://gatehouse@127.0.0.1/gatehouse", "DATABASE_URL"),
        ("", "DATABASE_URL"),
        // Nothing listens on port 1: must fail within the timeout, not hang for a minute.
        ("postgres://gatehouse@127.0.0.1:1/gatehouse", "DATABASE_URL"),
    ])
    func badDatabaseURLFailsReadably(_ url: String, _ named: String) async throws {
        let started = Date()
        let result = try await AdminProcess.run(["users", "list"], environment: [
            "DATABASE_URL": url, "DATABASE_TIMEOUT_SECONDS": "2",
        ])
        #expect(result.status != 0)
        #expect(result.stderr.contains("error: ") && result.stderr.contains(named), "\(result)")
        #expect(Date().timeIntervalSince(started) < 20)
    }

    @Test(arguments: [
        [], ["serve"], ["migrate"], ["users"], ["users", "create"], ["users", "list"], ["users", "disable"],
        ["users", "enable"], ["users", "set-password"], ["users", "update"], ["clients"], ["clients", "list"], ["clients", "delete"],
        ["keys"], ["keys", "list"], ["keys", "rotate"], ["audit"], ["audit", "list"],
    ])
    func helpWorksEverywhere(_ path: [String]) async throws {
        let result = try await AdminProcess.run(path + ["--help"], environment: [:])
        #expect(result.status == 0, "\(result)")
        #expect(result.stdout.contains("USAGE:"), "\(result)")
    }
}

// MARK: - Running the binary


/// Runs the built `AuthServer` binary. The package is built before tests run, so it sits in
/// `.build/debug` next to the test bundle's sources.
enum AdminProcess {
    struct Result: CustomStringConvertible {
        let status: Int32
        let stdout: String
        let stderr: String
        var description: String { "exit \(status)\nstdout:\n\(stdout)\nstderr:\n\(stderr)" }
    }

    static var binary: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent(".build/debug/AuthServer")
    }

    /// `timeout`: for commands that would run on if they wrongly succeeded (`serve`); the child
    /// is sent SIGTERM when it passes.
    static func run(_ arguments: [String], environment: [String: String], stdin: String = "",
                    timeout: Duration? = nil) async throws -> Result {
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw TestSetupError("\(binary.path) does not exist: run `swift build` first")
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let (inURL, outURL, errURL) = (scratch.appendingPathComponent("in"), scratch.appendingPathComponent("out"),
                                       scratch.appendingPathComponent("err"))
        try Data(stdin.utf8).write(to: inURL)
        try Data().write(to: outURL)
        try Data().write(to: errURL)

        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        // Only what the test passes (so the commands are shown to need nothing else), plus a patient database timeout: with the whole suite running on
        // two cores a command's first connection has taken over the operator's default of 5 s.
        process.environment = ["DATABASE_TIMEOUT_SECONDS": "30"].merging(environment, uniquingKeysWith: { $1 })
            .merging(["PATH": "/usr/bin:/bin"], uniquingKeysWith: { $1 })
        // Files, not pipes: a chatty child can never block on a full pipe buffer.
        process.standardInput = try FileHandle(forReadingFrom: inURL)
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        var watchdog: Task<Void, Never>?
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
                return
            }
            if let timeout {
                let pid = process.processIdentifier
                watchdog = Task {
                    try? await Task.sleep(for: timeout)
                    if !Task.isCancelled { kill(pid, SIGTERM) }
                }
            }
        }
        watchdog?.cancel()
        return Result(status: status, stdout: try String(contentsOf: outURL, encoding: .utf8),
                      stderr: try String(contentsOf: errURL, encoding: .utf8))
    }
}

/// A fresh, empty database for one test, with the environment an operator would export.
struct AdminDatabase {
    let configuration: DatabaseConfiguration
    let kek: String

    static func make() async throws -> AdminDatabase {
        let configuration = try await TestDatabase.makeEmptyDatabase()
        let kek = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        return AdminDatabase(configuration: configuration, kek: kek)
    }

    var url: String {
        let credentials = configuration.password.map { "\(configuration.username):\($0)" } ?? configuration.username
        return "postgres://\(credentials)@\(configuration.host):\(configuration.port)/\(configuration.database)"
    }

    func run(_ arguments: String..., stdin: String = "", keys: Bool = false) async throws -> AdminProcess.Result {
        try await run(arguments, stdin: stdin, keys: keys)
    }

    func run(_ arguments: [String], stdin: String = "", keys: Bool = false) async throws -> AdminProcess.Result {
        var environment = ["DATABASE_URL": url]
        if keys { environment["GATEHOUSE_KEK"] = kek }
        return try await AdminProcess.run(arguments, environment: environment, stdin: stdin)
    }

    func withDatabase<T: Sendable>(_ body: @escaping @Sendable (Database) async throws -> T) async throws -> T {
        let database = try Database(configuration: configuration, logger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { await database.client.run(); return nil }
            defer { group.cancelAll() }
            try await Migrator.migrate(database, logger: TestDatabase.logger)
            return try await body(database)
        }
    }

    func authenticate(_ username: String, _ password: String) async throws -> User? {
        try await withDatabase { try await UserStore(database: $0).authenticate(username: username, password: password) }
    }

    func insertClient(_ clientID: String) async throws {
        let client = Client(
            clientID: clientID, authMethod: .none, secretHash: nil, name: "Admin test", clientURI: nil,
            redirectURIs: ["http://127.0.0.1:33418/callback"], grantTypes: ["authorization_code", "refresh_token"],
            scope: ScopeSet("notes:read"), applicationType: "native", registrationKind: "dynamic", createdAt: Date())
        try await withDatabase { try await ClientStore(database: $0).insert(client) }
    }
}
