import Foundation
import PostgresNIO
import Shared

/// One row of `api_keys`, as the operator sees it. The key itself is never stored or returned.
struct APIKeyRecord: Sendable, Equatable {
    let id: UUID
    let name: String?
    let userID: UUID
    let username: String
    let clientLabel: String
    let resource: String
    let scope: ScopeSet
    let createdAt: Date
    let expiresAt: Date
    let lastUsedAt: Date?
    let revokedAt: Date?

    func state(now: Date) -> String {
        revokedAt != nil ? "revoked" : expiresAt <= now ? "expired" : "active"
    }
}

/// Owns `api_keys` (migration 10): creating a key (the one moment its text exists), listing, and
/// revoking. A revocation also lists the key in `revoked_access_tokens` under
/// `APIKeySecret.revocationID` and announces it on the revocation channel, in the same
/// transaction, so every ResourceServer refuses it within a second (RFC 7009 §2.2's "the token
/// must not be usable" applied to keys). The ResourceServer reads the table through its own
/// `APIKeyLookup`.
struct APIKeyStore: Sendable {
    struct NewKey: Sendable {
        var username: String
        var name: String?
        var clientLabel: String
        var resource: String
        var scope: ScopeSet
        var expiresAt: Date
    }

    enum CreateOutcome: Sendable {
        case created(APIKeyRecord, key: String)
        case noSuchUser
        case userDisabled
    }

    enum RevokeOutcome: Sendable, Equatable { case revoked, alreadyRevoked, notFound }

    let database: Database

    private static let columns = """
        k.id, k.name, k.user_id, u.username, k.client_label, k.resource, k.scope, k.created_at, k.expires_at, \
        k.last_used_at, k.revoked_at
        """

    /// The user is share-locked while the key is inserted, so a concurrent `users disable` either
    /// commits first (and the key is refused here) or waits and then revokes this key too.
    func create(_ new: NewKey, now: Date) async throws -> CreateOutcome {
        let key = APIKeySecret.generate()
        guard let hash = APIKeySecret.hash(key) else { preconditionFailure("a generated API key is well-formed") }
        let id = UUID()
        let username = new.username.lowercased()
        return try await database.transaction { connection in
            let users = try await connection.query(
                "SELECT id, disabled FROM users WHERE username = \(username) FOR SHARE", logger: connection.logger)
            var found: (id: UUID, disabled: Bool)?
            for try await row in users {
                let columns = row.columns
                found = (try columns["id"], try columns["disabled"])
            }
            guard let user = found else { return .noSuchUser }
            guard !user.disabled else { return .userDisabled }
            _ = try await connection.query("""
                INSERT INTO api_keys (id, secret_hash, name, user_id, client_label, resource, scope, created_at, expires_at)
                VALUES (\(id), \(ByteBuffer(bytes: hash)), \(new.name), \(user.id), \(new.clientLabel), \(new.resource), \(new.scope.description),
                        \(now), \(new.expiresAt))
                """, logger: connection.logger)
            let record = APIKeyRecord(id: id, name: new.name, userID: user.id, username: username,
                                      clientLabel: new.clientLabel, resource: new.resource, scope: new.scope,
                                      createdAt: now, expiresAt: new.expiresAt, lastUsedAt: nil, revokedAt: nil)
            return .created(record, key: key)
        }
    }

    /// Every key, or one user's, newest first.
    func list(username: String? = nil) async throws -> [APIKeyRecord] {
        let rows: [PostgresRow]
        if let username {
            rows = try await database.query("""
                SELECT \(unescaped: Self.columns) FROM api_keys k JOIN users u ON u.id = k.user_id
                WHERE u.username = \(username.lowercased()) ORDER BY k.created_at DESC, k.id
                """)
        } else {
            rows = try await database.query("""
                SELECT \(unescaped: Self.columns) FROM api_keys k JOIN users u ON u.id = k.user_id
                ORDER BY k.created_at DESC, k.id
                """)
        }
        return try rows.map(Self.record)
    }

    func find(id: UUID) async throws -> APIKeyRecord? {
        try await database.query("""
            SELECT \(unescaped: Self.columns) FROM api_keys k JOIN users u ON u.id = k.user_id WHERE k.id = \(id)
            """).map(Self.record).first
    }

    func revoke(id: UUID, now: Date) async throws -> RevokeOutcome {
        try await database.transaction { connection in
            let rows = try await connection.query(
                "SELECT revoked_at FROM api_keys WHERE id = \(id) FOR UPDATE", logger: connection.logger)
            var exists = false, revokedAt: Date?
            for try await row in rows {
                exists = true
                revokedAt = try row.columns["revoked_at"]
            }
            guard exists else { return .notFound }
            guard revokedAt == nil else { return .alreadyRevoked }
            try await Self.revoke(where: "id", id, now: now, connection: connection)
            return .revoked
        }
    }

    /// Inside `users disable`'s transaction: disabling ends everything the user holds, their keys
    /// included (and, like their tokens, enabling them again does not bring the keys back).
    /// The database clock stamps `revoked_at`, as for the rest of what disabling ends.
    static func revokeAll(ofUser userID: UUID, connection: PostgresConnection) async throws {
        try await revoke(where: "user_id", userID, now: nil, connection: connection)
    }

    /// Marks the matching live keys revoked and lists each in `revoked_access_tokens` (announced on
    /// the revocation channel) until it would have expired anyway.
    private static func revoke(where column: String, _ value: UUID, now: Date?, connection: PostgresConnection) async throws {
        let rows = try await connection.query("""
            UPDATE api_keys SET revoked_at = COALESCE(\(now), now())
            WHERE \(unescaped: column) = \(value) AND revoked_at IS NULL
            RETURNING id, expires_at
            """, logger: connection.logger)
        var revoked: [(UUID, Date)] = []
        for try await row in rows {
            let columns = row.columns
            revoked.append((try columns["id"], try columns["expires_at"]))
        }
        for (id, expiresAt) in revoked {
            try await TokenRevocation.revokeAccessToken(
                jti: APIKeySecret.revocationID(keyID: id.uuidString.lowercased()), expiresAt: expiresAt, connection: connection)
        }
    }

    private static func record(_ row: PostgresRow) throws -> APIKeyRecord {
        let columns = row.columns
        return APIKeyRecord(
            id: try columns["id"], name: try columns["name"], userID: try columns["user_id"], username: try columns["username"],
            clientLabel: try columns["client_label"], resource: try columns["resource"],
            scope: ScopeSet(try columns["scope"] as String), createdAt: try columns["created_at"],
            expiresAt: try columns["expires_at"], lastUsedAt: try columns["last_used_at"], revokedAt: try columns["revoked_at"])
    }
}
