import Foundation
import PostgresNIO
import Shared

/// Revocation shared by every path that ends a grant: the revocation endpoint, a replayed code,
/// a reused refresh token, a deleted client, a disabled user. Always called inside the caller's
/// transaction. Each affected access token's `jti` lands in `revoked_access_tokens`, which the
/// resource servers poll, so they refuse it within a second; a `NOTIFY` on
/// `RevocationNotice.channel` (delivered when the transaction commits) carries the same `jti exp`
/// pairs so that they usually know within milliseconds, before the client has its response.
enum TokenRevocation {
    enum Owner { case client(String), user(UUID) }

    static func revokeFamily(_ familyID: UUID, reason: String, connection: PostgresConnection) async throws {
        _ = try await connection.query("""
            UPDATE token_families SET revoked_at = now(), revoked_reason = \(reason)
            WHERE id = \(familyID) AND revoked_at IS NULL
            """, logger: connection.logger)
        let rows = try await connection.query("""
            INSERT INTO revoked_access_tokens (jti, expires_at)
            SELECT jti, expires_at FROM access_tokens WHERE family_id = \(familyID) AND expires_at > now()
            ON CONFLICT (jti) DO NOTHING
            RETURNING jti, expires_at
            """, logger: connection.logger)
        var revoked: [RevocationNotice] = []
        for try await row in rows {
            let columns = row.columns
            let expiresAt: Date = try columns["expires_at"]
            revoked.append(.accessToken(jti: try columns["jti"], expiresAt: Int(expiresAt.timeIntervalSince1970)))
        }
        try await notify(revoked, connection: connection)
    }

    static func revokeFamilies(of owner: Owner, reason: String, connection: PostgresConnection) async throws {
        let rows: PostgresRowSequence
        switch owner {
        case .client(let clientID):
            rows = try await connection.query(
                "SELECT id FROM token_families WHERE client_id = \(clientID) AND revoked_at IS NULL", logger: connection.logger)
        case .user(let userID):
            rows = try await connection.query(
                "SELECT id FROM token_families WHERE user_id = \(userID) AND revoked_at IS NULL", logger: connection.logger)
        }
        var ids: [UUID] = []
        for try await id in rows.decode(UUID.self) { ids.append(id) }
        for id in ids { try await revokeFamily(id, reason: reason, connection: connection) }
    }

    static func revokeAccessToken(jti: String, expiresAt: Date, connection: PostgresConnection) async throws {
        _ = try await connection.query("""
            INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (\(jti), \(expiresAt))
            ON CONFLICT (jti) DO NOTHING
            """, logger: connection.logger)
        try await notify([.accessToken(jti: jti, expiresAt: Int(expiresAt.timeIntervalSince1970))], connection: connection)
    }

    /// A signing key retired after a compromise (`SigningKeyStore.retire(immediately:)`): announced
    /// on the same channel as a `RevocationNotice.signingKey`, so resource servers refuse its
    /// tokens at once; their poll of `revoked_signing_keys`, written in the same transaction,
    /// stays the guarantee.
    static func announceRevokedSigningKey(_ kid: String, connection: PostgresConnection) async throws {
        try await notify([.signingKey(kid: kid)], connection: connection)
    }

    /// One `pg_notify` per payload: `RevocationNotice` splits them to stay under PostgreSQL's
    /// 8000-byte limit.
    private static func notify(_ notices: [RevocationNotice], connection: PostgresConnection) async throws {
        for payload in RevocationNotice.payloads(notices) {
            _ = try await connection.query("SELECT pg_notify(\(RevocationNotice.channel), \(payload))",
                                           logger: connection.logger)
        }
    }
}
