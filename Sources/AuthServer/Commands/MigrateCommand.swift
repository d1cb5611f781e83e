import ArgumentParser
import Shared

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the database schema up to date, then exit.",
        discussion: """
            Safe to run from several replicas at once (they serialize on an advisory lock) and \
            to run again (applied migrations are skipped). `serve` also migrates at start-up; \
            this command lets a deployment do it once, before rolling out. Needs DATABASE_URL. \
            With GATEHOUSE_RS_CLIENT_ID and GATEHOUSE_RS_CLIENT_SECRET_FILE set, it also does what \
            `clients create-resource-server` does with them.
            """)

    func run() async throws {
        // withDatabase migrates before running the body; this reports what is now applied.
        let resourceServer = try AdminRuntime.configuration {
            try ClientsCommand.CreateResourceServer.fromEnvironment(Shared.Environment())
        }
        let (versions, created) = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
            let versions = try await Migrator.appliedVersions(database)
            guard let (id, file) = resourceServer else { return (versions, nil as String?) }
            return (versions, try await ClientsCommand.CreateResourceServer.ensure(id: id, secretFile: file, database: database, logger: logger))
        }
        print("schema is up to date (migrations applied: \(versions.map(String.init).joined(separator: ", ")))")
        if let created { print(created) }
    }
}
