import Foundation
import Logging
import PostgresNIO
import Shared
import Testing
import TestSupport

/// `sslmode` against real servers: a private PostgreSQL cluster with `ssl=on` and a throwaway
/// self-signed certificate (started with scripts/postgres.sh on a loopback port of its own, and
/// stopped again), and the test cluster of `DATABASE_URL`, which has no TLS. The server itself
/// says whether a session is encrypted: `pg_stat_ssl` for our own backend.
@Suite("DATABASE_URL sslmode, connected", .serialized, .enabled(if: TLSCluster.isAvailable))
struct DatabaseTLSConnectionTests {
    @Test("prefer (and the default) use TLS when the server offers it; disable does not; verify-full checks the chain and the name")
    func tlsServer() async throws {
        try await TLSCluster.with { cluster in
            #expect(try await cluster.sessionUsesTLS("?sslmode=prefer") == true)
            #expect(try await cluster.sessionUsesTLS("") == true)
            #expect(try await cluster.sessionUsesTLS("?sslmode=allow") == true)
            #expect(try await cluster.sessionUsesTLS("?sslmode=require") == true)
            #expect(try await cluster.sessionUsesTLS("?sslmode=disable") == false)
            #expect(try await cluster.sessionUsesTLS("?sslmode=verify-full&sslrootcert=\(cluster.certificate.certificate)") == true)
            #expect(try await cluster.sessionUsesTLS("?sslmode=verify-ca&sslrootcert=\(cluster.certificate.certificate)") == true)
            // Another CA: verification fails, and verify-* never fall back to plain.
            let stranger = try SelfSignedCertificate.make(commonName: "localhost")
            defer { try? FileManager.default.removeItem(atPath: stranger.directory) }
            for mode in ["verify-ca", "verify-full", "require"] {
                await #expect(throws: (any Error).self, "\(mode)") {
                    try await cluster.connectOnce("?sslmode=\(mode)&sslrootcert=\(stranger.certificate)")
                }
            }
        }
    }

    @Test("prefer falls back to plain when the server refuses TLS; require and verify-full refuse to")
    func plainServer() async throws {
        let base = try TestDatabase.configuration()
        let url = "postgres://\(base.username)@\(base.host):\(base.port)/\(base.database)"
        var prefer = try DatabaseConfiguration(url: url + "?sslmode=prefer")
        prefer.queryTimeout = TestDatabase.queryTimeout
        #expect(try await TLSCluster.sessionUsesTLS(prefer) == false)
        for mode in ["require", "verify-full"] {
            let config = try DatabaseConfiguration(url: url + "?sslmode=\(mode)")
            await #expect(throws: (any Error).self, "\(mode)") { try await TLSCluster.connectOnce(config) }
        }
    }
}

/// A private PostgreSQL cluster with TLS on, for one test.
struct TLSCluster {
    let port: Int
    let certificate: SelfSignedCertificate

    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static var script: String { repository.appendingPathComponent("scripts/postgres.sh").path }

    static var isAvailable: Bool {
        FileManager.default.isExecutableFile(atPath: script) && FileManager.default.fileExists(atPath: "/usr/bin/openssl")
            && ((try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?.isEmpty == false)
    }

    static func with(_ body: (TLSCluster) async throws -> Void) async throws {
        let certificate = try SelfSignedCertificate.make(commonName: "localhost")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-tls-pg-\(UUID().uuidString)").path
        defer {
            _ = try? run(script, ["stop", directory])
            try? FileManager.default.removeItem(atPath: directory)
            try? FileManager.default.removeItem(atPath: certificate.directory)
        }
        // The server reads its key only if it belongs to the user it runs as, mode 0600.
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: certificate.key)
        if getuid() == 0 { try run("/bin/chown", ["-R", "postgres:postgres", certificate.directory]) }
        // Below Linux's ephemeral range (32768-60999), where the suite's own servers on port 0 and
        // every outgoing connection take theirs; a port that is taken anyway fails `start`, so try another.
        var port = 0
        for attempt in 1...3 {
            port = Int.random(in: 20_000...30_000)
            do {
                try run(script, ["start", directory, String(port)], environment: [
                    "PG_EXTRA_OPTS": "-c ssl=on -c ssl_cert_file=\(certificate.certificate) -c ssl_key_file=\(certificate.key)",
                ])
                break
            } catch where attempt < 3 {
                continue
            }
        }
        try await body(TLSCluster(port: port, certificate: certificate))
    }

    func configuration(_ query: String) throws -> DatabaseConfiguration {
        var configuration = try DatabaseConfiguration(url: "postgres://gatehouse@localhost:\(port)/gatehouse\(query)")
        // As for the test database: on a loaded CI machine a fresh pool's first TLS session took
        // longer than the services' 5 s default, and the test failed on the deadline, not on TLS.
        configuration.queryTimeout = TestDatabase.queryTimeout
        return configuration
    }

    /// Through the pool, as the services connect.
    func sessionUsesTLS(_ query: String) async throws -> Bool { try await Self.sessionUsesTLS(configuration(query)) }

    func connectOnce(_ query: String) async throws { try await Self.connectOnce(configuration(query)) }

    static func sessionUsesTLS(_ configuration: DatabaseConfiguration) async throws -> Bool {
        let database = try Database(configuration: configuration, logger: TestDatabase.logger)
        return try await withThrowingTaskGroup(of: Bool?.self) { group in
            group.addTask { await database.client.run(); return nil }
            defer { group.cancelAll() }
            let rows = try await database.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            return try rows.first?.decode(Bool.self) ?? false
        }
    }

    /// One connection, as the admin commands' probe makes it; fails fast instead of retrying.
    static func connectOnce(_ configuration: DatabaseConfiguration) async throws {
        let connection = try await PostgresConnection.connect(
            configuration: .init(host: configuration.host, port: configuration.port, username: configuration.username,
                                 password: configuration.password, database: configuration.database,
                                 tls: try configuration.connectionTLS()),
            id: 1, logger: TestDatabase.logger)
        try await connection.close()
    }

    @discardableResult
    static func run(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Not `waitUntilExit`: Foundation waits for a descriptor the child inherits to close,
        // and the postmaster that `pg_ctl start` leaves running inherits it too.
        var status: Int32 = 0
        let reaped = waitpid(process.processIdentifier, &status, 0)
        let exitCode = reaped == process.processIdentifier ? (status >> 8) & 0xff : 0
        guard exitCode == 0 else {
            throw TestSetupError("\(executable) \(arguments.joined(separator: " ")) exited with \(exitCode)")
        }
        return exitCode
    }
}
