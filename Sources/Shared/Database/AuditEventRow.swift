import Foundation
import PostgresNIO

/// The one INSERT into `audit_events`, shared by its two writers: the AuthServer's `AuditLog`
/// (which owns the table: schema, reads, `audit list`) and the ResourceServer's `DeniedCallAudit`,
/// so every row has the same shape and the same clipping.
///
/// Attacker-chosen strings (a username typed at the login form, a tool name) are clipped, so a
/// flood of refusals cannot bloat the table. Never put secrets in `detail`.
public enum AuditEventRow {
    public static let maxFieldLength = 256

    public static func clip(_ value: String?) -> String? {
        value.map { String($0.prefix(maxFieldLength)) }
    }

    /// `occurredAt` nil means the database clock, which every replica shares.
    public static func insert(
        kind: String, outcome: String, username: String? = nil, clientID: String? = nil, remoteAddress: String? = nil,
        detail: [String: String] = [:], occurredAt: Date? = nil
    ) -> PostgresQuery {
        let clippedDetail = detail.reduce(into: [String: String]()) { result, entry in
            result[String(entry.key.prefix(64))] = String(entry.value.prefix(maxFieldLength))
        }
        let detailJSON = (try? JSONEncoder().encode(clippedDetail)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
        return """
            INSERT INTO audit_events (occurred_at, kind, outcome, username, client_id, remote_address, detail)
            VALUES (coalesce(\(occurredAt), now()), \(kind), \(outcome), \(clip(username)),
                    \(clip(clientID)), \(clip(remoteAddress)), \(detailJSON)::jsonb)
            """
    }
}
