import ArgumentParser
import Shared

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the database schema up to date, then exit.",
        discussion: """
            Safe to run from several replicas at once (they serialize on an advisory lock) and \
            to run again (applied migrations are skipped). `serve` also migrates at start-up; \
            this command lets a deployment do it once, before rolling out. Needs DATABASE_URL.
            """)

    func run() async throws {
        // withDatabase migrates before running the body; this reports what is now applied.
        let versions = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
            try await Migrator.appliedVersions(database)
        }
        print("schema is up to date (migrations applied: \(versions.map(String.init).joined(separator: ", ")))")
    }
}
