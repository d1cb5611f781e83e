import Foundation
import PostgresNIO
import Shared

/// Resource-server clients (`registration_kind` resource_server): created, or given a new
/// secret, by `clients create-resource-server` and by `migrate`.
extension ClientStore {
    enum ResourceServerUpsert: Sendable, Equatable {
        case created
        /// It existed (possibly deleted, now restored); its secret is now the given one.
        case updated
        /// The client_id belongs to a client of another kind, which is left alone.
        case taken(kind: String)
    }

    /// Creates the client, or sets the secret of the resource-server client with this id. Blocked
    /// ids stay blocked (`find` refuses them).
    func upsertResourceServer(_ client: Client) async throws -> ResourceServerUpsert {
        let secretHash = client.secretHash.map { ByteBuffer(bytes: $0) }
        let rows = try await database.query("""
            INSERT INTO clients (client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri,
                                 redirect_uris, grant_types, scope, application_type, registration_kind, created_at)
            VALUES (\(client.clientID), \(secretHash), \(client.authMethod.rawValue), \(client.name), \(client.clientURI),
                    \(client.redirectURIs), \(client.grantTypes), \(client.scope.description), \(client.applicationType),
                    \(client.registrationKind), \(client.createdAt))
            ON CONFLICT (client_id) DO UPDATE SET secret_hash = EXCLUDED.secret_hash,
                token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method, redirect_uris = EXCLUDED.redirect_uris,
                grant_types = EXCLUDED.grant_types, deleted_at = NULL
            WHERE clients.registration_kind = EXCLUDED.registration_kind
            RETURNING (xmax = 0)
            """)
        if let row = rows.first {
            return try row.decode(Bool.self) ? .created : .updated
        }
        let kind = try await database.query("SELECT registration_kind FROM clients WHERE client_id = \(client.clientID)")
            .first?.decode(String.self)
        return .taken(kind: kind ?? "unknown")
    }
}
