import Foundation
import Logging
import PostgresNIO
import Shared

/// Appends the gateway's refused tool calls to `audit_events`, as `tool_call_denied` with outcome
/// `failure`, so an operator finds them where every other security event is
/// (`AuthServer audit list --kind tool_call_denied`).
///
/// `audit_events` is the AuthServer's table (its `AuditLog` owns the schema and is the only
/// reader); this store only appends rows of its one kind, through the same `AuditEventRow.Insert`
/// (shape and clipping). Like `AuditLog.record` it never breaks the answer it describes: a
/// database error is logged and swallowed, and the refusal (403) goes out either way. No token
/// goes into `detail`, only its `jti`.
struct DeniedCallAudit: Sendable {
    static let kind = "tool_call_denied"

    let database: Database
    let logger: Logger

    func record(resource: String, tool: String, reason: String, identity: VerifiedIdentity) async {
        let detail = ["resource": resource, "tool": tool, "reason": reason, "sub": identity.subject, "jti": identity.tokenID]
        do {
            _ = try await database.execute(AuditEventRow.Insert(kind: Self.kind, outcome: "failure",
                                                                clientID: identity.clientID, detail: detail))
        } catch {
            logger.warning("could not write audit event", metadata: [
                "audit_kind": "\(Self.kind)", "error": "\(String(reflecting: error))",
            ])
        }
    }
}
