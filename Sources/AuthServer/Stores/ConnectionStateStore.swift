import Foundation
import PostgresNIO
import Shared

/// Owns `connection_states` (migration 15): a connect request in flight at a provider. The
/// `state` sent to the provider is random; only its SHA-256 is stored, with the user, the
/// Gatehouse session it was started in (its SHA-256), the connection, the PKCE verifier (sealed)
/// and the pending authorization request to return to. `consume` deletes the row as it reads it,
/// so a callback is answered once, and only in the session that started it (RFC 6749 §10.12:
/// the client "MUST implement CSRF protection for its redirection URI", by "a value that binds the
/// request to the user-agent's authenticated state").
struct ConnectionStateStore: Sendable {
    static let lifetime: TimeInterval = 600

    struct Started: Sendable {
        let userID: UUID
        let connectionID: String
        let codeVerifier: String?
        /// The pending authorization request (its id) whose consent page the person returns to.
        let returnRequest: String?
    }

    let database: Database
    let seal: ConnectionTokenSeal

    func create(state: String, userID: UUID, sessionID: String, connectionID: String, codeVerifier: String?,
                returnRequest: String?, now: Date) async throws {
        let verifier = try codeVerifier.map {
            ByteBuffer(bytes: try seal.seal($0, .codeVerifier, userID: userID, connectionID: connectionID))
        }
        try await database.transaction { connection in
            // Abandoned attempts go with the next one.
            _ = try await connection.query("DELETE FROM connection_states WHERE expires_at < \(now)", logger: connection.logger)
            _ = try await connection.query("""
                INSERT INTO connection_states (state_hash, user_id, session_hash, connection_id, code_verifier_sealed,
                                               return_request, expires_at)
                VALUES (\(ByteBuffer(bytes: Digest.sha256(state))), \(userID), \(ByteBuffer(bytes: Digest.sha256(sessionID))),
                        \(connectionID), \(verifier), \(returnRequest), \(now.addingTimeInterval(Self.lifetime)))
                """, logger: connection.logger)
        }
    }

    /// `keys reseal`: the PKCE verifier of every connect in flight opened under `old` and sealed
    /// under `new`, in the caller's transaction. Expired rows go instead (nobody can finish them);
    /// one that opens under neither key is left (its callback fails, as it would have).
    static func reseal(from old: KeyEncryptionKey, to new: KeyEncryptionKey, now: Date,
                       connection: PostgresConnection) async throws -> UserConnectionStore.ResealCount {
        let (from, to) = (ConnectionTokenSeal(kek: old), ConnectionTokenSeal(kek: new))
        _ = try await connection.query("DELETE FROM connection_states WHERE expires_at < \(now)", logger: connection.logger)
        let rows = try await connection.query("""
            SELECT state_hash, user_id, connection_id, code_verifier_sealed FROM connection_states
            WHERE code_verifier_sealed IS NOT NULL ORDER BY state_hash FOR UPDATE
            """, logger: connection.logger)
        var sealed: [(stateHash: ByteBuffer, userID: UUID, connectionID: String, verifier: [UInt8])] = []
        for try await row in rows {
            let columns = row.columns
            let verifier: ByteBuffer = try columns["code_verifier_sealed"]
            sealed.append((try columns["state_hash"], try columns["user_id"], try columns["connection_id"], Array(buffer: verifier)))
        }
        var count = UserConnectionStore.ResealCount()
        for row in sealed {
            if (try? to.open(row.verifier, .codeVerifier, userID: row.userID, connectionID: row.connectionID)) != nil {
                count.alreadyCurrent += 1
                continue
            }
            guard let verifier = try? from.open(row.verifier, .codeVerifier, userID: row.userID, connectionID: row.connectionID) else {
                count.unreadable += 1
                continue
            }
            let resealed = ByteBuffer(bytes: try to.seal(verifier, .codeVerifier, userID: row.userID, connectionID: row.connectionID))
            _ = try await connection.query(
                "UPDATE connection_states SET code_verifier_sealed = \(resealed) WHERE state_hash = \(row.stateHash)",
                logger: connection.logger)
            count.resealed += 1
        }
        return count
    }

    /// The request `state` started, if it exists, has not expired, is for `connectionID` and
    /// was started in `sessionID`. Any presented state is used up, matching or not.
    func consume(state: String, sessionID: String?, connectionID: String, now: Date) async throws -> Started? {
        guard state.utf8.count <= 200 else { return nil }
        let rows = try await database.query("""
            DELETE FROM connection_states WHERE state_hash = \(ByteBuffer(bytes: Digest.sha256(state)))
            RETURNING user_id, session_hash, connection_id, code_verifier_sealed, return_request, expires_at
            """)
        guard let row = rows.first, let sessionID else { return nil }
        let columns = row.columns
        let sessionHash: ByteBuffer = try columns["session_hash"]
        let expiresAt: Date = try columns["expires_at"]
        let storedConnection: String = try columns["connection_id"]
        guard constantTimeEquals(Array(buffer: sessionHash), Digest.sha256(sessionID)), expiresAt > now,
              storedConnection == connectionID
        else { return nil }
        let userID: UUID = try columns["user_id"]
        let sealed: ByteBuffer? = try columns["code_verifier_sealed"]
        let verifier = try sealed.map { try seal.open(Array(buffer: $0), .codeVerifier, userID: userID, connectionID: connectionID) }
        return Started(userID: userID, connectionID: connectionID, codeVerifier: verifier, returnRequest: try columns["return_request"])
    }
}
