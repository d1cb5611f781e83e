import Foundation
import NIOCore
import PostgresNIO
import Shared

/// The tables of a grant's life: `authorization_codes` (once issued, see `AuthorizationCodeStore`),
/// `token_families`, `access_tokens` and `refresh_tokens`. Every method runs inside the caller's
/// transaction (the grants lock a row, decide, and write, all in one), and returns named row types.
///
/// fosite's handler/storage split is the model: a grant declares the storage it needs (this
/// store), and nothing outside `Stores/` writes SQL for these tables.
struct TokenFamilyStore: Sendable {
    /// An authorization code, locked `FOR UPDATE` for the length of the exchange.
    struct LockedCode: Sendable {
        let clientID: String
        let userID: UUID
        /// Empty when the authorization request did not name one.
        let redirectURI: String
        let codeChallenge: String
        let scope: String
        let resource: String
        let expiresAt: Date
        let consumedAt: Date?
        /// The family the code was exchanged for, once it was.
        let familyID: UUID?
        let nonce: String?
        let authTime: Date?

        init(columns: NamedColumns) throws {
            clientID = try columns["client_id"]
            userID = try columns["user_id"]
            redirectURI = try columns["redirect_uri"]
            codeChallenge = try columns["code_challenge"]
            scope = try columns["scope"]
            resource = try columns["resource"]
            expiresAt = try columns["expires_at"]
            consumedAt = try columns["consumed_at"]
            familyID = try columns["family_id"]
            nonce = try columns["nonce"]
            authTime = try columns["auth_time"]
        }
    }

    /// A refresh token with its family: locked `FOR UPDATE` for the length of the refresh on the
    /// transactional path (`lockRefreshToken`), read without a lock on the fast one (`readRefreshToken`).
    struct LockedRefreshToken: Sendable {
        let expiresAt: Date
        let rotatedAt: Date?
        /// The answer given when it was rotated, sealed under a key derived from the token itself.
        let replaySealed: [UInt8]?
        let scope: String
        let familyID: UUID
        let familyClientID: String
        let userID: UUID
        let resource: String
        let familyRevoked: Bool
        /// Whether the token it was rotated into has itself been used.
        let successorUsed: Bool

        init(columns: NamedColumns) throws {
            expiresAt = try columns["expires_at"]
            rotatedAt = try columns["rotated_at"]
            replaySealed = try (columns["replay_sealed"] as ByteBuffer?).map { Array(buffer: $0) }
            scope = try columns["scope"]
            familyID = try columns["family_id"]
            familyClientID = try columns["client_id"]
            userID = try columns["user_id"]
            resource = try columns["resource"]
            familyRevoked = try columns["family_revoked"]
            successorUsed = try columns["successor_used"]
        }

        /// What `RefreshDecision` needs to decide, and nothing else.
        var decisionState: RefreshDecision.TokenState {
            RefreshDecision.TokenState(expiresAt: expiresAt, rotatedAt: rotatedAt, successorUsed: successorUsed,
                                       hasSealedReplay: replaySealed != nil, familyRevoked: familyRevoked,
                                       familyClientID: familyClientID)
        }
    }

    /// A live refresh token as introspection describes it.
    struct ActiveRefreshToken: Sendable {
        let scope: String
        let clientID: String
        let userID: UUID
        let resource: String
        let expiresAt: Date
        let createdAt: Date

        init(columns: NamedColumns) throws {
            scope = try columns["scope"]
            clientID = try columns["client_id"]
            userID = try columns["user_id"]
            resource = try columns["resource"]
            expiresAt = try columns["expires_at"]
            createdAt = try columns["created_at"]
        }
    }

    /// The grant a family records: who, to which client, for what.
    struct NewFamily: Sendable {
        let id: UUID
        let clientID: String
        let userID: UUID
        let scope: String
        let resource: String
        let authTime: Date
    }

    let database: Database

    /// A grant's one transaction: the methods below take its connection.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) async throws -> T) async throws -> T {
        try await database.transaction(body)
    }

    func mapping<T>(_ operation: String, _ body: () async throws -> T) async throws -> T {
        try await StoreFailure.mapping("TokenFamilyStore", operation, body)
    }

    // MARK: Authorization codes, at the token endpoint

    func lockCode(hash: [UInt8], connection: PostgresConnection) async throws -> LockedCode? {
        try await mapping("lockCode") {
            let rows = try await connection.query("""
                SELECT client_id, user_id, redirect_uri, code_challenge, scope, resource, expires_at, consumed_at, family_id,
                       nonce, auth_time
                FROM authorization_codes WHERE code_hash = \(ByteBuffer(bytes: hash)) FOR UPDATE
                """, logger: connection.logger)
            var found: LockedCode?
            for try await row in rows { found = try LockedCode(columns: row.columns) }
            return found
        }
    }

    /// Spends a code without issuing anything: a refused exchange cannot be retried with another guess.
    func burnCode(hash: [UInt8], at now: Date, connection: PostgresConnection) async throws {
        try await mapping("burnCode") {
            _ = try await connection.query(
                "UPDATE authorization_codes SET consumed_at = \(now) WHERE code_hash = \(ByteBuffer(bytes: hash))",
                logger: connection.logger)
        }
    }

    /// The code exchanged: in one statement, the new family, the spent code (pointing at the family,
    /// so a replay can revoke it), the access token's record and the refresh token.
    func recordIssued(_ family: NewFamily, exchangingCode codeHash: [UInt8], at now: Date,
                      access: TokenIssuer.AccessToken, refresh: TokenIssuer.RefreshToken,
                      connection: PostgresConnection) async throws {
        try await mapping("recordIssued") {
            _ = try await connection.query("""
                WITH family AS (
                    INSERT INTO token_families (id, client_id, user_id, scope, resource, auth_time)
                    VALUES (\(family.id), \(family.clientID), \(family.userID), \(family.scope), \(family.resource),
                            \(family.authTime))),
                code AS (
                    UPDATE authorization_codes SET consumed_at = \(now), family_id = \(family.id)
                    WHERE code_hash = \(ByteBuffer(bytes: codeHash))),
                access AS (
                    INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                    VALUES (\(access.jti), \(family.id), \(family.clientID), \(access.expiresAt)))
                INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at)
                VALUES (\(refresh.hash), \(family.id), \(family.scope), \(refresh.expiresAt))
                """, logger: connection.logger)
        }
    }

    // MARK: Refresh tokens

    func lockRefreshToken(hash: [UInt8], connection: PostgresConnection) async throws -> LockedRefreshToken? {
        try await mapping("lockRefreshToken") {
            let rows = try await connection.query(Self.refreshTokenQuery(hash: hash, lock: "FOR UPDATE"),
                                                  logger: connection.logger)
            var found: LockedRefreshToken?
            for try await row in rows { found = try LockedRefreshToken(columns: row.columns) }
            return found
        }
    }

    /// The presented token with its family and what `RefreshDecision` needs; `lock` is `FOR UPDATE`
    /// (the transactional path) or empty (the unlocked read of `TokenFamilyStore+UnlockedRefresh`).
    static func refreshTokenQuery(hash: [UInt8], lock: String) -> PostgresQuery {
        var binds = PostgresBindings()
        binds.append(ByteBuffer(bytes: hash))
        return PostgresQuery(unsafeSQL: refreshTokenSQL(lock: lock), binds: binds)
    }

    /// `refreshTokenQuery`'s text, `$1` the token's hash; also the fast path's prepared statement.
    static func refreshTokenSQL(lock: String) -> String {
        """
        SELECT r.expires_at, r.rotated_at, r.replay_sealed, r.scope, f.id AS family_id, f.client_id, f.user_id,
               f.resource, f.revoked_at IS NOT NULL AS family_revoked,
               COALESCE((SELECT s.rotated_at IS NOT NULL FROM refresh_tokens s WHERE s.token_hash = r.successor_hash),
                        false) AS successor_used
        FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
        WHERE r.token_hash = $1 \(lock)
        """
    }

    /// One rotation, in one statement: the new access token's record, the successor (with the
    /// scope of the token it replaces, RFC 6749 §6), and the presented token marked rotated with
    /// its sealed answer for a retry within the grace window.
    func rotate(_ presented: LockedRefreshToken, presentedHash: [UInt8], at now: Date,
                access: TokenIssuer.AccessToken, successor: TokenIssuer.RefreshToken, sealedAnswer: [UInt8],
                connection: PostgresConnection) async throws {
        try await mapping("rotate") {
            _ = try await connection.query("""
                WITH access AS (
                    INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                    VALUES (\(access.jti), \(presented.familyID), \(presented.familyClientID), \(access.expiresAt))),
                successor AS (
                    INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at)
                    VALUES (\(successor.hash), \(presented.familyID), \(presented.scope), \(successor.expiresAt)))
                UPDATE refresh_tokens SET rotated_at = \(now), successor_hash = \(successor.hash),
                       replay_sealed = \(ByteBuffer(bytes: sealedAnswer))
                WHERE token_hash = \(ByteBuffer(bytes: presentedHash))
                """, logger: connection.logger)
        }
    }

    /// The families a refresh token of `clientID` belongs to (none when it is another client's).
    func familyIDs(ofRefreshToken hash: [UInt8], clientID: String, connection: PostgresConnection) async throws -> [UUID] {
        try await mapping("familyIDs") {
            let rows = try await connection.query("""
                SELECT f.id FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                WHERE r.token_hash = \(ByteBuffer(bytes: hash)) AND f.client_id = \(clientID)
                """, logger: connection.logger)
            var ids: [UUID] = []
            for try await id in rows.decode(UUID.self) { ids.append(id) }
            return ids
        }
    }

    /// Ends a family and every access token it issued (see `TokenRevocation`).
    func revokeFamily(_ familyID: UUID, reason: String, connection: PostgresConnection) async throws {
        try await mapping("revokeFamily") {
            try await TokenRevocation.revokeFamily(familyID, reason: reason, connection: connection)
        }
    }

    /// An access token revoked on its own (RFC 7009): recorded for the resource servers.
    func revokeAccessToken(jti: String, expiresAt: Date) async throws {
        try await mapping("revokeAccessToken") {
            try await database.transaction { connection in
                try await TokenRevocation.revokeAccessToken(jti: jti, expiresAt: expiresAt, connection: connection)
            }
        }
    }

    /// An unrotated, unexpired refresh token of a live family, issued to `clientID`.
    func activeRefreshToken(hash: [UInt8], clientID: String, now: Date) async throws -> ActiveRefreshToken? {
        try await mapping("activeRefreshToken") {
            let rows = try await database.query("""
                SELECT r.scope, f.client_id, f.user_id, f.resource, r.expires_at, r.created_at
                FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                WHERE r.token_hash = \(ByteBuffer(bytes: hash)) AND r.rotated_at IS NULL
                  AND f.revoked_at IS NULL AND r.expires_at > \(now) AND f.client_id = \(clientID)
                """)
            return try rows.first.map { try ActiveRefreshToken(columns: $0.columns) }
        }
    }
}
