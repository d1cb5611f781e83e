import Foundation
import PostgresNIO
import Shared

/// Pre-registered clients (`registration_kind` preregistered): created by `clients create`,
/// changed by `clients update`, and kept matching the config file's `clients:` at start-up.
extension ClientStore {
    enum PreregisteredInsert: Sendable, Equatable {
        case created
        /// The client_id is taken, by a live or a deleted client (ids are never reused, so an old
        /// consent or token can never apply to a new client).
        case taken(kind: String, deleted: Bool)
    }

    func insertPreregistered(_ client: Client) async throws -> PreregisteredInsert {
        let rows = try await database.query(Self.insert(client, onConflict: "DO NOTHING RETURNING client_id"))
        if rows.first != nil { return .created }
        return try await owner(of: client.clientID).map { .taken(kind: $0.kind, deleted: $0.deleted) }
            ?? .taken(kind: "unknown", deleted: false)
    }

    /// Who holds a client_id: its kind, and whether it was deleted.
    struct Owner: Sendable, Equatable {
        let kind: String
        let deleted: Bool
    }

    /// The kind of the client with this id, deleted or not.
    func owner(of clientID: String) async throws -> Owner? {
        let row = try await database.query("""
            SELECT registration_kind, deleted_at IS NOT NULL AS deleted FROM clients WHERE client_id = \(clientID)
            """).first
        guard let row else { return nil }
        let columns = row.columns
        return Owner(kind: try columns["registration_kind"], deleted: try columns["deleted"])
    }

    struct StoredClient: Sendable {
        let client: Client
        let deleted: Bool
    }

    /// A client of any kind, live or deleted, whatever its block status (`clients show`).
    func stored(_ clientID: String) async throws -> StoredClient? {
        let row = try await database.query("""
            SELECT \(unescaped: Self.columns), deleted_at IS NOT NULL AS deleted
            FROM clients WHERE client_id = \(clientID)
            """).first
        guard let row else { return nil }
        return StoredClient(client: try Self.client(from: row), deleted: try row.columns["deleted"])
    }

    /// What `clients update` changes; nil leaves a field as it is.
    struct PreregisteredChanges: Sendable {
        var name: String?
        var redirectURIs: [String]?
        var trusted: Bool?
        var applicationType: String?
    }

    /// Changes a live pre-registered client; false when there is none with this id.
    func updatePreregistered(_ clientID: String, _ changes: PreregisteredChanges) async throws -> Bool {
        let rows = try await database.query("""
            UPDATE clients SET client_name = COALESCE(\(changes.name), client_name),
                redirect_uris = COALESCE(\(changes.redirectURIs), redirect_uris),
                trusted = COALESCE(\(changes.trusted), trusted),
                application_type = COALESCE(\(changes.applicationType), application_type)
            WHERE client_id = \(clientID) AND registration_kind = \(Client.preregisteredKind) AND deleted_at IS NULL
            RETURNING client_id
            """)
        return rows.first != nil
    }

    enum PreregisteredSync: Sendable, Equatable {
        case created
        /// It existed (possibly deleted by an operator: restored) and now matches the entry.
        case updated
        /// It already matched the entry.
        case unchanged
        /// The client_id belongs to a client of another kind, which is left alone.
        case taken(kind: String)
    }

    /// Creates the client, or makes the pre-registered client with this id match `client`
    /// (the config file's entry): name, redirect URIs, secret, auth method and trust. Blocked
    /// ids stay blocked (`find` refuses them).
    func syncPreregistered(_ client: Client) async throws -> PreregisteredSync {
        // Only a pre-registered row is updated, and only when something differs (so an unchanged
        // entry is neither written nor audited); `xmax = 0` tells an insert from an update.
        let rows = try await database.query(Self.insert(client, onConflict: Self.syncOnConflict))
        if let row = rows.first {
            return try row.columns["inserted"] ? .created : .updated
        }
        guard let owner = try await owner(of: client.clientID) else { return .unchanged }
        return owner.kind == Client.preregisteredKind ? .unchanged : .taken(kind: owner.kind)
    }

    /// The one INSERT of a pre-registered client; `onConflict` is fixed SQL (no values) after `ON CONFLICT (client_id)`.
    private static func insert(_ client: Client, onConflict: StaticString) -> PostgresQuery {
        let secretHash = client.secretHash.map { ByteBuffer(bytes: $0) }
        return """
            INSERT INTO clients (client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri,
                                 redirect_uris, grant_types, scope, application_type, registration_kind, created_at, trusted)
            VALUES (\(client.clientID), \(secretHash), \(client.authMethod.rawValue), \(client.name), \(client.clientURI),
                    \(client.redirectURIs), \(client.grantTypes), \(client.scope.description), \(client.applicationType),
                    \(client.registrationKind), \(client.createdAt), \(client.trusted))
            ON CONFLICT (client_id) \(unescaped: onConflict.description)
            """
    }

    private static let syncOnConflict: StaticString = """
        DO UPDATE SET secret_hash = EXCLUDED.secret_hash,
        token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method, client_name = EXCLUDED.client_name,
        redirect_uris = EXCLUDED.redirect_uris, grant_types = EXCLUDED.grant_types,
        application_type = EXCLUDED.application_type, trusted = EXCLUDED.trusted, deleted_at = NULL
        WHERE clients.registration_kind = EXCLUDED.registration_kind
        AND (clients.secret_hash IS DISTINCT FROM EXCLUDED.secret_hash
        OR clients.token_endpoint_auth_method IS DISTINCT FROM EXCLUDED.token_endpoint_auth_method
        OR clients.client_name IS DISTINCT FROM EXCLUDED.client_name
        OR clients.redirect_uris IS DISTINCT FROM EXCLUDED.redirect_uris
        OR clients.grant_types IS DISTINCT FROM EXCLUDED.grant_types
        OR clients.application_type IS DISTINCT FROM EXCLUDED.application_type
        OR clients.trusted IS DISTINCT FROM EXCLUDED.trusted
        OR clients.deleted_at IS NOT NULL)
        RETURNING (xmax = 0) AS inserted
        """
}
