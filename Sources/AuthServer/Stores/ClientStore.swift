import Foundation
import PostgresNIO
import Shared

/// Registered clients. Secrets are stored only as SHA-256 hashes (they are 256-bit random
/// values, so a fast hash is enough; no password-style stretching is needed).
struct ClientStore: Sendable {
    let database: Database

    /// Every column `client(from:)` decodes by name, for every SELECT and RETURNING.
    static let columns = """
        client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri, redirect_uris, grant_types,
        scope, application_type, registration_kind, created_at, jwks_uri, jwks::text AS jwks, token_endpoint_auth_signing_alg, trusted
        """

    func insert(_ client: Client) async throws {
        _ = try await insert(client, source: nil)
    }

    /// With `source` (dynamic registration), also what the registration was and where it came
    /// from; returns whether it repeated an earlier live one (`RegistrationSource`).
    func insert(_ client: Client, source: RegistrationSource?) async throws -> Bool {
        try await database.execute(InsertClient(client: client, source: source)).first ?? false
    }

    /// `insert`'s statement, prepared once per connection (`Database.execute`): every dynamic
    /// registration runs it, and parsing and planning it again each time was PostgreSQL's largest
    /// cost per registration, as it was for the refresh grant's (docs/benchmarks.md).
    struct InsertClient: PostgresPreparedStatement {
        static let name = "gatehouse_insert_client"
        // $15 and $16 appear twice: the new row's registration hash and network, and the earlier
        // live registration of the same body from the same network that would make it a duplicate.
        static let sql = """
            INSERT INTO clients (client_id, secret_hash, token_endpoint_auth_method, client_name, client_uri,
                                 redirect_uris, grant_types, scope, application_type, registration_kind, created_at,
                                 jwks_uri, jwks, token_endpoint_auth_signing_alg,
                                 registration_hash, source_network, software_id, software_version, duplicate)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CAST($13 AS jsonb), $14, $15, $16, $17, $18,
                    EXISTS (SELECT 1 FROM clients o
                            WHERE o.registration_hash = $15 AND o.source_network = $16
                              AND o.deleted_at IS NULL AND o.created_at >= $19))
            RETURNING duplicate
            """
        let client: Client
        /// With a source (dynamic registration), also what the registration was and where it came from.
        let source: RegistrationSource?

        func makeBindings() throws -> PostgresBindings {
            var binds = PostgresBindings(capacity: 19)
            binds.append(client.clientID)
            binds.append(client.secretHash.map { ByteBuffer(bytes: $0) })
            binds.append(client.authMethod.rawValue)
            binds.append(client.name)
            binds.append(client.clientURI)
            binds.append(client.redirectURIs)
            binds.append(client.grantTypes)
            binds.append(client.scope.description)
            binds.append(client.applicationType)
            binds.append(client.registrationKind)
            binds.append(client.createdAt)
            binds.append(client.jwksURI)
            binds.append(ClientStore.jwksJSON(client))
            binds.append(client.signingAlgorithm?.rawValue)
            binds.append(source.map { ByteBuffer(bytes: $0.bodyHash) })
            binds.append(source?.network)
            binds.append(source?.softwareID)
            binds.append(source?.softwareVersion)
            // A window of 0 looks back to a moment no row can have: nothing is a duplicate.
            binds.append(source?.duplicateSince ?? .distantFuture)
            return binds
        }

        func decodeRow(_ row: PostgresRow) throws -> Bool { try row.decode(Bool.self) }
    }

    /// The inline JWK Set as JSON text for the `jwks` column, or nil.
    static func jwksJSON(_ client: Client) -> String? {
        guard let jwks = client.jwks, let data = try? JSONEncoder().encode(jwks) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }

    /// A live (not deleted, not blocked) registered client, or nil.
    func find(_ clientID: String) async throws -> Client? {
        guard clientID.count <= 512 else { return nil }
        return try await database.execute(FindClient(clientID: clientID)).first
    }

    /// `find`'s statement, prepared once per connection (`Database.execute`): every `/token` and
    /// `/authorize` request runs it.
    struct FindClient: PostgresPreparedStatement {
        static let name = "gatehouse_find_client"
        static let sql = """
            SELECT \(ClientStore.columns)
            FROM clients WHERE client_id = $1 AND deleted_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM blocked_clients WHERE kind = 'client_id' AND entry = $1)
            """
        let clientID: String

        func makeBindings() throws -> PostgresBindings {
            var binds = PostgresBindings()
            binds.append(clientID)
            return binds
        }

        func decodeRow(_ row: PostgresRow) throws -> Client { try ClientStore.client(from: row) }
    }

    func list() async throws -> [Client] {
        try await database.query("""
            SELECT \(unescaped: Self.columns)
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

    /// Decodes `columns` by name; other columns of the row are ignored. An unknown auth method
    /// becomes `private_key_jwt` with no keys, which no request can satisfy: a row this version
    /// does not understand must fail closed, never as a public client.
    static func client(from row: PostgresRow) throws -> Client {
        let columns = row.columns
        let method: String = try columns["token_endpoint_auth_method"]
        let secretHash: ByteBuffer? = try columns["secret_hash"]
        let scope: String = try columns["scope"]
        let jwks: String? = try columns["jwks"]
        let alg: String? = try columns["token_endpoint_auth_signing_alg"]
        return Client(
            clientID: try columns["client_id"], authMethod: Client.AuthMethod(rawValue: method) ?? .privateKeyJWT,
            secretHash: secretHash.map { Array(buffer: $0) }, name: try columns["client_name"],
            clientURI: try columns["client_uri"], redirectURIs: try columns["redirect_uris"],
            grantTypes: try columns["grant_types"], scope: ScopeSet(scope), applicationType: try columns["application_type"],
            registrationKind: try columns["registration_kind"], createdAt: try columns["created_at"],
            jwksURI: try columns["jwks_uri"], jwks: jwks.flatMap { try? JSONDecoder().decode(JWKS.self, from: Data($0.utf8)) },
            signingAlgorithm: alg.flatMap(JWSAlgorithm.init(rawValue:)), trusted: try columns["trusted"])
    }
}
