import Logging
import PostgresNIO

/// Applies the versioned migrations in `Migrations.all` that the database has not seen yet.
///
/// Both services call this at start-up, and so does the `migrate` subcommand, so several
/// processes may race: everything happens in one transaction holding a transaction-scoped
/// advisory lock, so the second process waits, then finds nothing left to do.
/// An applied migration is never edited: add a new one instead (a checksum guards this).
public enum Migrator {
    /// Arbitrary constant identifying "Gatehouse schema migration" among advisory locks.
    static let lockKey: Int64 = 0x6761_7465_686F_7573  // "gatehous"

    /// Every version recorded in `schema_migrations`, in order (what `migrate` reports).
    public static func appliedVersions(_ database: Database) async throws -> [Int] {
        try await database.query("SELECT version FROM schema_migrations ORDER BY version").map { try $0.decode(Int.self) }
    }

    @discardableResult
    public static func migrate(_ database: Database, logger: Logger) async throws -> [Int] {
        try await unwrappingTransactionError { try await database.client.withTransaction(logger: logger) { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: logger)
            _ = try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY,
                    name text NOT NULL,
                    checksum text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied: [Int: String] = [:]
            for try await row in try await connection.query("SELECT version, checksum FROM schema_migrations", logger: logger) {
                let columns = row.columns
                let version: Int = try columns["version"]
                applied[version] = try columns["checksum"]
            }
            var newlyApplied: [Int] = []
            for migration in Migrations.all {
                if let checksum = applied[migration.version] {
                    guard checksum == migration.checksum else {
                        throw MigrationError.editedAfterApplying(version: migration.version, name: migration.name)
                    }
                    continue
                }
                for statement in migration.statements {
                    _ = try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                _ = try await connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))",
                    logger: logger)
                logger.info("applied migration", metadata: ["version": "\(migration.version)", "name": "\(migration.name)"])
                newlyApplied.append(migration.version)
            }
            return newlyApplied
        } }
    }
}

public enum MigrationError: Error, CustomStringConvertible {
    case editedAfterApplying(version: Int, name: String)
    public var description: String {
        switch self {
        case .editedAfterApplying(let version, let name):
            return "migration \(version) (\(name)) was changed after it was applied; add a new migration instead"
        }
    }
}
