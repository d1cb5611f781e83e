import Foundation
import PostgresNIO
import Shared

/// Reaping (issue 13): public dynamic registration lets anyone add rows to `clients`, and some
/// MCP clients register again on every connection, so clients that registered and then went
/// quiet are deleted after `GATEHOUSE_CLIENT_REAP_DAYS`.
///
/// Only `registration_kind` dynamic is ever reaped: pre-registered and resource-server clients
/// are the operator's, and a metadata-document client is only a cache of a document its owner
/// publishes. A client is reaped when it registered more than N days ago, did not use `/token`
/// (`last_used_at`) and was issued nothing (code, token family, refresh or access token) in the
/// last N days, and it holds no live grant: no refresh token of an unrevoked family that has
/// not expired (rotated ones included, so that the reuse detection of RFC 9700 §4.14.2 keeps
/// its client), and no unconsumed code that has not expired. The conditions are evaluated in the same statement that deletes, so a
/// grant issued while the sweep runs is seen.
extension ClientStore {
    /// The only `registration_kind` that reaping touches.
    static let reapableKind = "dynamic"

    /// Every `registration_kind` this version writes; the client-count gauge reports all of them,
    /// zero included, so a kind that empties shows 0 rather than its last value.
    static let knownKinds = [reapableKind, Client.metadataDocumentKind, Client.preregisteredKind, Client.resourceServerKind]

    /// A client that reaping would delete, as `clients prune --dry-run` shows it.
    struct ReapCandidate: Sendable, Equatable {
        let clientID: String
        let name: String?
        let createdAt: Date
        /// Its `last_used_at`, or the newest code, token family, refresh or access token issued to it; nil when none.
        let lastUsedAt: Date?
    }

    /// The WHERE clause shared by the listing and the deletion; `c` is the `clients` row.
    private static func reapableCondition(days: Int) -> String {
        let cutoff = "now() - make_interval(days => \(Int32(clamping: days)))"
        return """
            c.registration_kind = '\(reapableKind)' AND c.deleted_at IS NULL AND c.created_at < \(cutoff)
            AND (c.last_used_at IS NULL OR c.last_used_at < \(cutoff))
            AND NOT EXISTS (SELECT 1 FROM token_families f WHERE f.client_id = c.client_id AND f.created_at >= \(cutoff))
            AND NOT EXISTS (SELECT 1 FROM authorization_codes a WHERE a.client_id = c.client_id AND a.created_at >= \(cutoff))
            AND NOT EXISTS (SELECT 1 FROM access_tokens t WHERE t.client_id = c.client_id AND t.created_at >= \(cutoff))
            AND NOT EXISTS (SELECT 1 FROM token_families f JOIN refresh_tokens r ON r.family_id = f.id
                            WHERE f.client_id = c.client_id
                              AND (r.created_at >= \(cutoff) OR (f.revoked_at IS NULL AND r.expires_at > now())))
            AND NOT EXISTS (SELECT 1 FROM authorization_codes a
                            WHERE a.client_id = c.client_id AND a.consumed_at IS NULL AND a.expires_at > now())
            """
    }

    /// What `reap(unusedForDays:)` would delete now, oldest first. `days` must be at least 1.
    func reapCandidates(unusedForDays days: Int, limit: Int = 10_000) async throws -> [ReapCandidate] {
        precondition(days >= 1, "reaping needs a positive number of days")
        let condition = Self.reapableCondition(days: days)
        let rows = try await database.query(PostgresQuery(unsafeSQL: """
            SELECT c.client_id, c.client_name, c.created_at,
                   greatest(c.last_used_at,
                            (SELECT max(f.created_at) FROM token_families f WHERE f.client_id = c.client_id),
                            (SELECT max(r.created_at) FROM token_families f JOIN refresh_tokens r ON r.family_id = f.id
                             WHERE f.client_id = c.client_id),
                            (SELECT max(a.created_at) FROM authorization_codes a WHERE a.client_id = c.client_id),
                            (SELECT max(t.created_at) FROM access_tokens t WHERE t.client_id = c.client_id)) AS last_used_at
            FROM clients c WHERE \(condition)
            ORDER BY c.created_at, c.client_id LIMIT \(max(0, limit))
            """))
        return try rows.map { row in
            let (clientID, name, createdAt, lastUsedAt) = try row.decode((String, String?, Date, Date?).self)
            return ReapCandidate(clientID: clientID, name: name, createdAt: createdAt, lastUsedAt: lastUsedAt)
        }
    }

    /// Deletes up to `limit` reapable clients the way `delete(_:)` does (soft delete, every family
    /// revoked) and writes one `clients_reaped` audit event with the count, all in one
    /// transaction. Returns the client IDs deleted, oldest first.
    func reap(unusedForDays days: Int, limit: Int = 10_000, detail: [String: String] = [:]) async throws -> [String] {
        precondition(days >= 1, "reaping needs a positive number of days")
        let condition = Self.reapableCondition(days: days)
        return try await database.transaction { connection in
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                WITH doomed AS (
                    SELECT c.client_id FROM clients c WHERE \(condition)
                    ORDER BY c.created_at, c.client_id LIMIT \(max(0, limit)) FOR UPDATE OF c SKIP LOCKED)
                UPDATE clients SET deleted_at = now() FROM doomed
                WHERE clients.client_id = doomed.client_id RETURNING clients.client_id, clients.created_at
                """), logger: connection.logger)
            var reaped: [(String, Date)] = []
            for try await row in rows.decode((String, Date).self) { reaped.append(row) }
            let clientIDs = reaped.sorted { ($0.1, $0.0) < ($1.1, $1.0) }.map(\.0)
            guard !clientIDs.isEmpty else { return [] }
            for clientID in clientIDs {
                try await TokenRevocation.revokeFamilies(of: .client(clientID), reason: "client reaped", connection: connection)
            }
            var auditDetail = detail
            auditDetail["count"] = String(clientIDs.count)
            auditDetail["unused_days"] = String(days)
            try await AuditLog.record(.clientsReaped, detail: auditDetail, connection: connection)
            return clientIDs
        }
    }

    /// Stamps `last_used_at`, unless it was stamped within the hour (so a busy client costs one
    /// write an hour, and concurrent replicas agree without coordinating).
    func markUsed(_ clientID: String) async throws {
        _ = try await database.query("""
            UPDATE clients SET last_used_at = now()
            WHERE client_id = \(clientID) AND (last_used_at IS NULL OR last_used_at < now() - interval '1 hour')
            """)
    }

    /// Live (not deleted) clients per `registration_kind`, every known kind present.
    func countsByKind() async throws -> [String: Int] {
        var counts = Dictionary(uniqueKeysWithValues: Self.knownKinds.map { ($0, 0) })
        let rows = try await database.query(
            "SELECT registration_kind, count(*)::bigint FROM clients WHERE deleted_at IS NULL GROUP BY registration_kind")
        for row in rows {
            let (kind, count) = try row.decode((String, Int).self)
            counts[kind] = count
        }
        return counts
    }
}
