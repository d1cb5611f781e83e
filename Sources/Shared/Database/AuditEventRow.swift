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

    /// The one INSERT, as a named prepared statement (`Database.execute`, or a transaction's
    /// `connection.execute`): every registration writes a row, and PostgreSQL parsed and planned
    /// the statement again for each one while it was sent unnamed.
    public struct Insert: PostgresPreparedStatement {
        public typealias Row = Void
        public static let name = "gatehouse_insert_audit_event"
        public static let sql = """
            INSERT INTO audit_events (occurred_at, kind, outcome, username, client_id, remote_address, detail)
            VALUES (coalesce($1, now()), $2, $3, $4, $5, $6, CAST($7 AS jsonb))
            """
        let occurredAt: Date?
        let kind: String
        let outcome: String
        let username: String?
        let clientID: String?
        let remoteAddress: String?
        let detailJSON: String

        /// `occurredAt` nil means the database clock, which every replica shares.
        public init(kind: String, outcome: String, username: String? = nil, clientID: String? = nil,
                    remoteAddress: String? = nil, detail: [String: String] = [:], occurredAt: Date? = nil) {
            let clippedDetail = detail.reduce(into: [String: String]()) { result, entry in
                result[String(entry.key.prefix(64))] = String(entry.value.prefix(AuditEventRow.maxFieldLength))
            }
            self.kind = kind
            self.outcome = outcome
            self.username = AuditEventRow.clip(username)
            self.clientID = AuditEventRow.clip(clientID)
            self.remoteAddress = AuditEventRow.clip(remoteAddress)
            self.detailJSON = (try? JSONEncoder().encode(clippedDetail)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
            self.occurredAt = occurredAt
        }

        public func makeBindings() throws -> PostgresBindings {
            var binds = PostgresBindings(capacity: 7)
            binds.append(occurredAt)
            binds.append(kind)
            binds.append(outcome)
            binds.append(username)
            binds.append(clientID)
            binds.append(remoteAddress)
            binds.append(detailJSON)
            return binds
        }

        public func decodeRow(_ row: PostgresRow) throws {}
    }
}
