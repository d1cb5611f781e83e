import Foundation
import PostgresNIO
import Shared

/// What a token exchange writes: the issued token's `jti` in `access_tokens`, under the family of
/// the subject token, so that everything that ends that grant (sign-out by revocation, refresh
/// reuse, `clients delete`, `users disable`) revokes the exchanged token with it.
struct ExchangedTokenStore: Sendable {
    let database: Database

    enum Outcome: Sendable, Equatable {
        /// Recorded; the subject's username, for the audit trail.
        case recorded(username: String)
        /// The subject token is unknown here, revoked, its family revoked, or its user disabled.
        case refused(String)
    }

    /// The family row and the user row are share-locked first, so a concurrent revocation of the
    /// family or `users disable` either commits before (and this refuses) or waits for this
    /// commit and then revokes the new `jti` too.
    func record(subjectJTI: String, userID: UUID, jti: String, clientID: String, expiresAt: Date) async throws -> Outcome {
        try await database.transaction { connection in
            let rows = try await connection.query("""
                SELECT f.id, f.revoked_at IS NOT NULL, u.username, u.disabled,
                       EXISTS (SELECT 1 FROM revoked_access_tokens r WHERE r.jti = a.jti)
                FROM access_tokens a
                JOIN token_families f ON f.id = a.family_id
                JOIN users u ON u.id = f.user_id
                WHERE a.jti = \(subjectJTI) AND f.user_id = \(userID)
                FOR SHARE OF f, u
                """, logger: connection.logger)
            var found: (UUID, Bool, String, Bool, Bool)?
            for try await row in rows.decode((UUID, Bool, String, Bool, Bool).self) { found = row }
            guard let (familyID, familyRevoked, username, disabled, tokenRevoked) = found else {
                return .refused("the subject token is not known to this server")
            }
            guard !familyRevoked, !tokenRevoked else { return .refused("the subject token has been revoked") }
            guard !disabled else { return .refused("the subject token's account is disabled") }
            _ = try await connection.query("""
                INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                VALUES (\(jti), \(familyID), \(clientID), \(expiresAt))
                """, logger: connection.logger)
            return .recorded(username: username)
        }
    }
}
