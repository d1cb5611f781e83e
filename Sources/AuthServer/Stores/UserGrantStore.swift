import Foundation
import PostgresNIO
import Shared

/// What a person has granted, read and ended per client (issue 13 item 4, the operator's side:
/// `users grants U`, `users revoke-grants U [--client C]`). A grant is the person's live token
/// families for one client and resource: what the consent page allowed and a refresh token keeps alive.
struct UserGrantStore: Sendable {
    let database: Database

    /// One client's live access for the person, at one resource.
    struct Grant: Sendable, Equatable {
        let clientID: String
        let clientName: String?
        let resource: String
        /// The union of the live families' scopes, sorted.
        let scope: String
        let families: Int
        /// When the first live family was created (the first authorization).
        let firstUse: Date
        /// The newest token issued in any of them (a refresh counts as use).
        let lastUse: Date
        /// `clients.registration_kind` (dynamic, metadata_document, preregistered, …): how the
        /// account page describes the app. Nil when the client row is gone.
        var registrationKind: String? = nil
    }

    /// Nil when there is no such user.
    func grants(ofUsername username: String) async throws -> [Grant]? {
        guard let userID = try await userID(username) else { return nil }
        let rows = try await database.query("""
            SELECT f.client_id, c.client_name, c.registration_kind, f.resource,
                   array_to_string(ARRAY(SELECT DISTINCT s FROM token_families g, unnest(string_to_array(g.scope, ' ')) AS s
                                         WHERE g.user_id = \(userID) AND g.client_id = f.client_id
                                           AND g.resource = f.resource AND g.revoked_at IS NULL AND s <> '' ORDER BY s), ' ') AS scope,
                   count(*)::int AS families, min(f.created_at) AS first_use,
                   greatest(max(f.created_at), coalesce(max(r.newest), max(f.created_at))) AS last_use
            FROM token_families f
            LEFT JOIN clients c ON c.client_id = f.client_id
            LEFT JOIN LATERAL (SELECT max(created_at) AS newest FROM refresh_tokens WHERE family_id = f.id) r ON true
            WHERE f.user_id = \(userID) AND f.revoked_at IS NULL
            GROUP BY f.client_id, c.client_name, c.registration_kind, f.resource
            ORDER BY last_use DESC, f.client_id
            """)
        var grants: [Grant] = []
        for row in rows {
            let columns = row.columns
            grants.append(Grant(clientID: try columns["client_id"], clientName: try columns["client_name"],
                                resource: try columns["resource"], scope: try columns["scope"],
                                families: try columns["families"], firstUse: try columns["first_use"],
                                lastUse: try columns["last_use"], registrationKind: try columns["registration_kind"]))
        }
        return grants
    }

    /// Ends the person's grants (all, or one client's): every live family is revoked, so the
    /// resource servers refuse its access tokens within a second and its refresh tokens get
    /// `invalid_grant`; codes not yet exchanged are deleted; the remembered consent is forgotten,
    /// so the app has to ask the person again. One transaction. Returns the number
    /// of families revoked, or nil when there is no such user. `reason` is recorded on each family
    /// (the operator's command, or the person on the account page).
    func revokeGrants(ofUsername username: String, client clientID: String? = nil,
                      reason: String = "grant revoked by an operator") async throws -> Int? {
        try await database.transaction { connection in
            guard let userID = try await Self.userID(username, connection: connection) else { return nil }
            let families: PostgresRowSequence
            if let clientID {
                _ = try await connection.query(
                    "DELETE FROM consents WHERE user_id = \(userID) AND client_id = \(clientID)", logger: connection.logger)
                _ = try await connection.query("""
                    DELETE FROM authorization_codes WHERE user_id = \(userID) AND client_id = \(clientID) AND consumed_at IS NULL
                    """, logger: connection.logger)
                families = try await connection.query("""
                    SELECT id FROM token_families WHERE user_id = \(userID) AND client_id = \(clientID) AND revoked_at IS NULL
                    """, logger: connection.logger)
            } else {
                _ = try await connection.query("DELETE FROM consents WHERE user_id = \(userID)", logger: connection.logger)
                _ = try await connection.query(
                    "DELETE FROM authorization_codes WHERE user_id = \(userID) AND consumed_at IS NULL", logger: connection.logger)
                families = try await connection.query(
                    "SELECT id FROM token_families WHERE user_id = \(userID) AND revoked_at IS NULL", logger: connection.logger)
            }
            var ids: [UUID] = []
            for try await id in families.decode(UUID.self) { ids.append(id) }
            for id in ids { try await TokenRevocation.revokeFamily(id, reason: reason, connection: connection) }
            return ids.count
        }
    }

    private func userID(_ username: String) async throws -> UUID? {
        try await database.transaction { try await Self.userID(username, connection: $0) }
    }

    private static func userID(_ raw: String, connection: PostgresConnection) async throws -> UUID? {
        guard let username = try? UserStore.normalizedUsername(raw) else { return nil }
        let rows = try await connection.query("SELECT id FROM users WHERE username = \(username)", logger: connection.logger)
        var id: UUID?
        for try await found in rows.decode(UUID.self) { id = found }
        return id
    }
}
