import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport

/// Migrations on a real PostgreSQL: idempotent, safe when several processes start at once, and
/// refusing an applied migration that was edited.
@Suite("Migrator")
struct MigratorTests {
    @Test("running the migrations twice in a row applies them once")
    func twiceInARow() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        try await withClient(config) { database in
            let first = try await Migrator.migrate(database, logger: TestDatabase.logger)
            let second = try await Migrator.migrate(database, logger: TestDatabase.logger)
            #expect(first == Migrations.all.map(\.version))
            #expect(second.isEmpty)
            let rows = try await database.query("SELECT count(*) FROM schema_migrations")
            #expect(try rows.first?.decode(Int.self) == Migrations.all.count)
        }
    }

    @Test("two processes migrating the same empty database at once both succeed")
    func concurrentlyFromTwoProcesses() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        let url = "postgres://\(config.username)@\(config.host):\(config.port)/\(config.database)"
        let binaries = try BuiltProducts.directory()
        let processes = try ["AuthServer", "ResourceServer", "AuthServer"].map { name in
            let process = Process()
            process.executableURL = binaries.appendingPathComponent(name)
            process.arguments = ["migrate"]
            process.environment = ["DATABASE_URL": url, "PATH": "/usr/bin:/bin"]
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return process
        }
        for process in processes { process.waitUntilExit() }
        #expect(processes.map(\.terminationStatus) == [0, 0, 0])
        try await withClient(config) { database in
            let rows = try await database.query("SELECT version FROM schema_migrations ORDER BY version")
            #expect(try rows.map { try $0.decode(Int.self) } == Migrations.all.map(\.version))
        }
    }

    @Test("an applied migration whose SQL changed stops the process")
    func editedMigrationIsRefused() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        try await withClient(config) { database in
            try await Migrator.migrate(database, logger: TestDatabase.logger)
            _ = try await database.query("UPDATE schema_migrations SET checksum = 'edited' WHERE version = 1")
            await #expect(throws: MigrationError.self) {
                try await Migrator.migrate(database, logger: TestDatabase.logger)
            }
        }
    }

    @Test("a database call against an unreachable server times out instead of hanging")
    func unreachableDatabaseTimesOut() async throws {
        var config = try DatabaseConfiguration(url: "postgres://nobody@127.0.0.1:1/none")
        config.queryTimeout = .milliseconds(500)
        let database = try Database(configuration: config, logger: TestDatabase.logger)
        let started = ContinuousClock.now
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            await #expect(throws: DatabaseTimeoutError.self) { _ = try await database.query("SELECT 1") }
            #expect(await database.isReachable() == false)
            group.cancelAll()
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    private func withClient(_ config: DatabaseConfiguration, _ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        let database = try Database(configuration: config, logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await body(database)
        }
    }
}

/// Where `swift build` put the executables (the tests run from the same build).
enum BuiltProducts {
    static func directory() throws -> URL {
        var url = URL(fileURLWithPath: #filePath)
        while url.pathComponents.count > 1 {
            url.deleteLastPathComponent()
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let bin = url.appendingPathComponent(".build/debug")
                guard FileManager.default.isExecutableFile(atPath: bin.appendingPathComponent("AuthServer").path) else {
                    throw TestSetupError("build the executables first (swift build); \(bin.path) has no AuthServer")
                }
                return bin
            }
        }
        throw TestSetupError("package root not found from \(#filePath)")
    }
}
