import Foundation
import PostgresNIO
import Shared

/// The `jti`s of client assertions already used, in the database so that one used on one replica
/// is refused on every other. Rows are swept after they expire (`ExpiredRecordSweeper`).
///
/// RFC 7523 §3: "The JWT MAY contain a "jti" (JWT ID) claim that provides a unique identifier for
/// the token. The authorization server MAY ensure that JWTs are not replayed by maintaining the
/// set of used "jti" values for the length of time for which the JWT would be considered valid
/// based on the applicable "exp" instant." Gatehouse requires `jti` and always does.
struct ClientAssertionReplayStore: Sendable {
    let database: Database

    /// Records `jti` for `clientID` until `expiresAt`. False when it was seen before: a replay.
    /// One statement on a unique key, so two replicas racing with the same assertion cannot both win.
    func consume(clientID: String, jti: String, expiresAt: Date) async throws -> Bool {
        let rows = try await database.query("""
            INSERT INTO client_assertion_jtis (client_id, jti, expires_at) VALUES (\(clientID), \(jti), \(expiresAt))
            ON CONFLICT (client_id, jti) DO NOTHING RETURNING 1
            """)
        return !rows.isEmpty
    }
}
