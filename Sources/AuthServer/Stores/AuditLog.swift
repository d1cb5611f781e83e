import Foundation
import Logging
import PostgresNIO
import Shared

/// One security-relevant event, as stored in `audit_events`.
struct AuditEvent: Sendable, Equatable {
    enum Kind: String, CaseIterable, Sendable {
        case login
        case loginFailed = "login_failed"
        case consentGranted = "consent_granted"
        case consentDenied = "consent_denied"
        case clientRegistered = "client_registered"
        case clientDeleted = "client_deleted"
        /// One per sweep that reaped unused dynamic clients; `detail.count` says how many.
        case clientsReaped = "clients_reaped"
        /// A pre-registered client's name, redirect URIs or trust changed (`clients update`, the config file).
        case clientUpdated = "client_updated"
        case clientBlocked = "client_blocked"
        case clientUnblocked = "client_unblocked"
        case tokenFamilyRevoked = "token_family_revoked"
        case refreshReuseDetected = "refresh_reuse_detected"
        case codeReplayDetected = "code_replay_detected"
        case keyRotated = "key_rotated"
        case keyRetired = "key_retired"
        case keysResealed = "keys_resealed"
        case userCreated = "user_created"
        case userDisabled = "user_disabled"
        case userEnabled = "user_enabled"
        case passwordChanged = "password_changed"
        case userUpdated = "user_updated"
        case tokenExchanged = "token_exchanged"
        case tokenExchangeRefused = "token_exchange_refused"
        /// Written by the ResourceServer's gateway (`DeniedCallAudit`), read here.
        case toolCallDenied = "tool_call_denied"
        case apiKeyCreated = "api_key_created"
        case apiKeyRevoked = "api_key_revoked"
        /// `POST /logout`: the person ended this browser's session.
        case logout
        /// The account page's "Sign out everywhere": every session of the person; `detail.sessions` says how many.
        case signedOutEverywhere = "signed_out_everywhere"
        /// The first request of a window refused by a rate limit (RateLimiter); `detail` names the limit and key.
        case rateLimited = "rate_limited"
        /// A user connected (or reconnected) a third-party connection; `detail.connection` names it.
        case connectionMade = "connection_made"
        /// A connect attempt failed (provider error, bad state, failed code exchange); `detail.reason` says why.
        case connectionFailed = "connection_failed"
        /// The user disconnected a connection on the account page; `detail.revoked` says whether the provider revoked it.
        case connectionRemoved = "connection_removed"
        /// `users link`: an operator linked a user to an identity at a provider; `detail.provider`, `detail.subject`.
        case identityLinked = "identity_linked"
        /// `users link --remove`.
        case identityUnlinked = "identity_unlinked"
    }

    enum Outcome: String, Sendable {
        case success, failure
    }

    let id: Int64
    let occurredAt: Date
    let kind: Kind
    let outcome: Outcome
    let username: String?
    let clientID: String?
    let remoteAddress: String?
    let detail: [String: String]
}

/// The audit trail. Writing an event must never break the action it describes, so `record`
/// swallows (and logs) database errors; use the `connection:` variant when the event has to
/// commit or roll back together with the action.
///
/// Never put secrets in `detail`: no passwords, tokens, codes, client secrets or key material.
/// Operators read and export this table.
struct AuditLog: Sendable {
    /// Attacker-chosen strings (a username typed at the login form) are clipped so a flood of
    /// failed logins cannot bloat the table.
    static let maxFieldLength = AuditEventRow.maxFieldLength

    let database: Database
    let logger: Logger

    init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// `occurredAt` defaults to the database clock, which every replica shares.
    func record(
        _ kind: AuditEvent.Kind, outcome: AuditEvent.Outcome = .success, username: String? = nil,
        clientID: String? = nil, remoteAddress: String? = nil, detail: [String: String] = [:], occurredAt: Date? = nil
    ) async {
        do {
            _ = try await database.execute(Self.insert(
                kind, outcome, username, clientID, remoteAddress, detail, occurredAt))
        } catch {
            logger.warning("could not write audit event", metadata: [
                "audit_kind": "\(kind.rawValue)", "audit_outcome": "\(outcome.rawValue)", "error": "\(String(reflecting: error))",
            ])
        }
    }

    /// Writes inside the caller's transaction; a failure aborts it.
    static func record(
        _ kind: AuditEvent.Kind, outcome: AuditEvent.Outcome = .success, username: String? = nil,
        clientID: String? = nil, remoteAddress: String? = nil, detail: [String: String] = [:], occurredAt: Date? = nil,
        connection: PostgresConnection
    ) async throws {
        _ = try await connection.execute(
            insert(kind, outcome, username, clientID, remoteAddress, detail, occurredAt), logger: connection.logger)
    }

    /// Newest first.
    func list(limit: Int, kind: AuditEvent.Kind? = nil) async throws -> [AuditEvent] {
        let limit = max(0, min(limit, 10_000))
        let rows: [PostgresRow]
        if let kind {
            rows = try await database.query("""
                SELECT id, occurred_at, kind, outcome, username, client_id, remote_address, detail::text AS detail
                FROM audit_events WHERE kind = \(kind.rawValue) ORDER BY occurred_at DESC, id DESC LIMIT \(limit)
                """)
        } else {
            rows = try await database.query("""
                SELECT id, occurred_at, kind, outcome, username, client_id, remote_address, detail::text AS detail
                FROM audit_events ORDER BY occurred_at DESC, id DESC LIMIT \(limit)
                """)
        }
        // Kinds this build does not know (written by a newer version) are skipped, not fatal.
        return try rows.compactMap(Self.event(from:))
    }

    static func clip(_ value: String?) -> String? { AuditEventRow.clip(value) }

    private static func insert(
        _ kind: AuditEvent.Kind, _ outcome: AuditEvent.Outcome, _ username: String?, _ clientID: String?,
        _ remoteAddress: String?, _ detail: [String: String], _ occurredAt: Date?
    ) -> AuditEventRow.Insert {
        AuditEventRow.Insert(kind: kind.rawValue, outcome: outcome.rawValue, username: username, clientID: clientID,
                             remoteAddress: remoteAddress, detail: detail, occurredAt: occurredAt)
    }

    private static func event(from row: PostgresRow) throws -> AuditEvent? {
        let columns = row.columns
        guard let kind = AuditEvent.Kind(rawValue: try columns["kind"]) else { return nil }
        let detailText: String = try columns["detail"]
        let detail = (try? JSONDecoder().decode([String: String].self, from: Data(detailText.utf8))) ?? [:]
        return AuditEvent(
            id: try columns["id"], occurredAt: try columns["occurred_at"], kind: kind,
            outcome: AuditEvent.Outcome(rawValue: try columns["outcome"]) ?? .failure,
            username: try columns["username"], clientID: try columns["client_id"],
            remoteAddress: try columns["remote_address"], detail: detail)
    }
}
