import Foundation
import PostgresNIO
import Shared

/// Cached client ID metadata documents: rows of `clients` with `registration_kind`
/// metadata_document, keyed by the URL, refreshed by `ClientResolver`.
extension ClientStore {
    struct CachedDocument: Sendable {
        let client: Client
        let fetchedAt: Date
        let expiresAt: Date
        /// Deleted by an operator (`AuthServer clients delete`): its tokens are revoked and the
        /// copy is not used; the next request fetches the document again.
        let deleted: Bool
    }

    func cachedDocument(_ clientID: String) async throws -> CachedDocument? {
        let rows = try await database.query("""
            SELECT \(unescaped: Self.columns),
                   metadata_fetched_at, metadata_expires_at, deleted_at IS NOT NULL AS deleted
            FROM clients WHERE client_id = \(clientID) AND registration_kind = \(Client.metadataDocumentKind)
            """)
        guard let row = rows.first else { return nil }
        let columns = row.columns
        let fetchedAt: Date = try columns["metadata_fetched_at"] ?? .distantPast
        let expiresAt: Date? = try columns["metadata_expires_at"]
        return CachedDocument(
            client: try Self.client(from: row), fetchedAt: fetchedAt,
            expiresAt: expiresAt ?? fetchedAt, deleted: try columns["deleted"])
    }

    /// Keeps a stale copy in use after a failed refresh and retries no sooner than `until`, so a
    /// client whose host is down does not make every request wait for a fetch.
    func postponeRefresh(_ clientID: String, until: Date) async throws {
        _ = try await database.query("""
            UPDATE clients SET metadata_expires_at = \(until)
            WHERE client_id = \(clientID) AND registration_kind = \(Client.metadataDocumentKind)
            """)
    }

    /// Stores a freshly fetched and validated document, in one statement. A row an operator
    /// deleted comes back, with its remembered consents cleared so that people are asked again.
    /// Returns nil only if the URL were taken by a registered client (ours are never URLs).
    func upsert(_ document: ClientMetadataDocument, fetchedAt: Date, expiresAt: Date) async throws -> Client? {
        let client = document.client
        let rows = try await database.query("""
            WITH forgotten AS (
                DELETE FROM consents WHERE client_id = \(client.clientID) AND EXISTS (
                    SELECT 1 FROM clients WHERE client_id = \(client.clientID) AND deleted_at IS NOT NULL)
            )
            INSERT INTO clients (client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri,
                                 redirect_uris, grant_types, scope, application_type, registration_kind, metadata,
                                 created_at, metadata_fetched_at, metadata_expires_at, jwks_uri, jwks,
                                 token_endpoint_auth_signing_alg)
            VALUES (\(client.clientID), NULL, \(client.authMethod.rawValue), \(client.name), \(client.clientURI),
                    \(client.redirectURIs), \(client.grantTypes), \(client.scope.description), \(client.applicationType),
                    \(client.registrationKind), CAST(\(document.json) AS jsonb), \(fetchedAt), \(fetchedAt), \(expiresAt),
                    \(client.jwksURI), CAST(\(Self.jwksJSON(client)) AS jsonb), \(client.signingAlgorithm?.rawValue))
            ON CONFLICT (client_id) DO UPDATE SET
                token_endpoint_auth_method = EXCLUDED.token_endpoint_auth_method, client_name = EXCLUDED.client_name,
                client_uri = EXCLUDED.client_uri, redirect_uris = EXCLUDED.redirect_uris, grant_types = EXCLUDED.grant_types,
                scope = EXCLUDED.scope, application_type = EXCLUDED.application_type, metadata = EXCLUDED.metadata,
                metadata_fetched_at = EXCLUDED.metadata_fetched_at, metadata_expires_at = EXCLUDED.metadata_expires_at,
                jwks_uri = EXCLUDED.jwks_uri, jwks = EXCLUDED.jwks,
                token_endpoint_auth_signing_alg = EXCLUDED.token_endpoint_auth_signing_alg, deleted_at = NULL
            WHERE clients.registration_kind = EXCLUDED.registration_kind
            RETURNING \(unescaped: Self.columns)
            """)
        return try rows.first.map(Self.client(from:))
    }
}
