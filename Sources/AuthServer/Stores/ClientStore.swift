import Foundation
import PostgresNIO
import Shared

/// Registered clients. Secrets are stored only as SHA-256 hashes (they are 256-bit random
/// values, so a fast hash is enough; no password-style stretching is needed).
struct ClientStore: Sendable {
    let database: Database

    func insert(_ client: Client) async throws {
        let secretHash = client.secretHash.map { ByteBuffer(bytes: $0) }
        _ = try await database.query("""
            INSERT INTO clients (client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri,
                                 redirect_uris, grant_types, scope, application_type, registration_kind, created_at)
            VALUES (\(client.clientID), \(secretHash), \(client.authMethod.rawValue), \(client.name), \(client.clientURI),
                    \(client.redirectURIs), \(client.grantTypes), \(client.scope.description), \(client.applicationType),
                    \(client.registrationKind), \(client.createdAt))
            """)
    }

    /// A live (not deleted) client, or nil.
    func find(_ clientID: String) async throws -> Client? {
        guard clientID.count <= 512 else { return nil }
        let rows = try await database.query("""
            SELECT client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri, redirect_uris,
                   grant_types, scope, application_type, registration_kind, created_at
            FROM clients WHERE client_id = \(clientID) AND deleted_at IS NULL
            """)
        return try rows.first.map(Self.client(from:))
    }

    func list() async throws -> [Client] {
        try await database.query("""
            SELECT client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri, redirect_uris,
                   grant_types, scope, application_type, registration_kind, created_at
            FROM clients WHERE deleted_at IS NULL ORDER BY created_at
            """).map(Self.client(from:))
    }

    /// Deletes a client and revokes everything issued to it, in one transaction.
    func delete(_ clientID: String) async throws -> Bool {
        try await database.transaction { connection in
            let rows = try await connection.query(
                "UPDATE clients SET deleted_at = now() WHERE client_id = \(clientID) AND deleted_at IS NULL RETURNING client_id",
                logger: connection.logger)
            var found = false
            for try await _ in rows { found = true }
            guard found else { return false }
            try await TokenRevocation.revokeFamilies(of: .client(clientID), reason: "client deleted", connection: connection)
            return true
        }
    }

    /// Decodes the first eleven columns, in the order of the SELECTs above; later ones are ignored.
    static func client(from row: PostgresRow) throws -> Client {
        let (id, secretHash, method, name, uri, redirects, grants, scope, appType, kind, created) = try row.decode(
            (String, ByteBuffer?, String, String?, String?, [String], [String], String, String, String, Date).self)
        return Client(
            clientID: id, authMethod: Client.AuthMethod(rawValue: method) ?? .none,
            secretHash: secretHash.map { Array(buffer: $0) }, name: name, clientURI: uri, redirectURIs: redirects,
            grantTypes: grants, scope: ScopeSet(scope), applicationType: appType, registrationKind: kind, createdAt: created)
    }
}
