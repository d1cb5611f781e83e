import Foundation
import NIOCore
import PostgresNIO
import Shared

/// The refresh grant's fast path (issue 14: "one signature and at most two database round
/// trips"): the presented token read without a lock, then, once the grant has decided `rotate`
/// and signed, one statement that locks the token and its family, re-checks every premise of
/// that decision and writes the rotation, all or nothing. Each is one autocommit statement, so
/// no `BEGIN`/`COMMIT` and no pooled connection held while the token is signed.
///
/// Why the re-check is the decision: `RefreshDecision.decide` answers `.rotate` exactly when the
/// token exists, its family belongs to the client and is not revoked, it was never rotated and it
/// has not expired (`grace`, `successorUsed` and the sealed replay only matter once it was
/// rotated). Those are the `WHERE` of `rotateIfStillLive`; `RefreshFastPathTests` runs both over
/// every `TokenState` and asserts they agree in both directions. Everything the grant signed from
/// the unlocked read (user, family, resource, scope) never changes on a row, so it is what a
/// locked read would have returned.
extension TokenFamilyStore {
    /// The presented token as `lockRefreshToken` returns it, read without a lock in one statement.
    /// A refusal or a replay decided from it writes nothing, so it is the answer the locked path
    /// would have given at the moment of this read.
    func readRefreshToken(hash: [UInt8]) async throws -> LockedRefreshToken? {
        try await mapping("readRefreshToken") {
            try await database.execute(ReadRefreshToken(hash: hash)).first
        }
    }

    /// `readRefreshToken`, prepared once per connection (`Database.execute`).
    struct ReadRefreshToken: PostgresPreparedStatement {
        static let name = "gatehouse_read_refresh_token"
        static let sql = TokenFamilyStore.refreshTokenSQL(lock: "")
        let hash: [UInt8]

        func makeBindings() throws -> PostgresBindings {
            var binds = PostgresBindings()
            binds.append(ByteBuffer(bytes: hash))
            return binds
        }

        func decodeRow(_ row: PostgresRow) throws -> LockedRefreshToken { try LockedRefreshToken(columns: row.columns) }
    }

    /// The token limit as the rotation statement counts it (`RateLimiter`'s counter row).
    struct RotationLimit: Sendable {
        let bucket: String
        let windowStart: Date
        let maximum: Int
    }

    /// What the rotation statement did.
    enum UnlockedRotation: Equatable, Sendable {
        case rotated
        /// Every premise held, and the token limit refused the unit: nothing was written but the
        /// counter (`firstInWindow`: this refusal was counted, as `RateLimiter.check` counts one).
        case limited(firstInWindow: Bool)
        /// A premise no longer held: nothing was written, not even the counter.
        case premisesChanged
    }

    /// In one statement: locks the presented token and its family (in the order
    /// `lockRefreshToken` does, so the two paths cannot deadlock), and only if the token is still
    /// the live, unrotated, unexpired token of an unrevoked family of `clientID`, takes one unit of
    /// the token limit (when `limit` is given) and, if admitted, writes what `rotate` writes.
    /// `.premisesChanged` when a premise no longer holds (a concurrent refresh rotated the token,
    /// the family was revoked, the token expired): nothing was written, and the grant decides
    /// again on the transactional path.
    ///
    /// Under READ COMMITTED a row changed by a transaction that committed while this one waited
    /// for its lock is read again and the `WHERE` evaluated on the new version, so of any number
    /// of concurrent rotations of one token exactly one matches. A revocation of the family
    /// (`TokenRevocation.revokeFamily`) either waits for this statement and then lists its access
    /// token, or commits first and this statement finds the family revoked.
    ///
    /// The counter is taken only where the token is live, like `RateLimiter.check` after the
    /// transactional path has decided `.rotate`, so a replay or a refusal never spends a unit, and
    /// its row is locked for this one statement, not across a signature. (The limit's parameters
    /// are cast: without a limit they are nil, which postgres-nio sends without a type.)
    func rotateIfStillLive(_ presented: LockedRefreshToken, presentedHash: [UInt8], clientID: String, at now: Date,
                           access: TokenIssuer.AccessToken, successor: TokenIssuer.RefreshToken,
                           sealedAnswer: [UInt8], limit: RotationLimit? = nil) async throws -> UnlockedRotation {
        try await mapping("rotateIfStillLive") {
            let rows = try await database.execute(RotateIfStillLive(
                presentedHash: presentedHash, familyID: presented.familyID, clientID: clientID, now: now, limit: limit,
                access: access, successor: successor, sealedAnswer: sealedAnswer))
            guard let (live, counted, rotated) = rows.first else { return .premisesChanged }
            if rotated == 1 { return .rotated }
            if live == 1, limit != nil { return .limited(firstInWindow: counted != nil) }
            return .premisesChanged
        }
    }

    /// `rotateIfStillLive`'s statement, prepared once per connection (`Database.execute`): the
    /// refresh grant's write, whose parse and plan were most of its database CPU. `$5`-`$7` are
    /// the token limit's bucket, window and maximum, all null without a limit.
    struct RotateIfStillLive: PostgresPreparedStatement {
        static let name = "gatehouse_rotate_if_still_live"
        static let sql = """
            WITH live AS (
                SELECT r.token_hash, r.family_id, r.scope
                FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                WHERE r.token_hash = $1 AND r.family_id = $2
                  AND f.client_id = $3 AND f.revoked_at IS NULL
                  AND r.rotated_at IS NULL AND r.expires_at > $4
                FOR UPDATE),
            admitted AS (
                INSERT INTO rate_limit_counters AS c (bucket, window_start, count)
                SELECT $5::text, $6::timestamptz, 1 FROM live
                WHERE $5::text IS NOT NULL
                ON CONFLICT (bucket, window_start) DO UPDATE SET count = c.count + 1 WHERE c.count <= $7::int8
                RETURNING count),
            rotated AS (
                UPDATE refresh_tokens r SET rotated_at = $4, successor_hash = $8, replay_sealed = $9
                FROM live WHERE r.token_hash = live.token_hash
                  AND ($7::int8 IS NULL OR EXISTS (SELECT 1 FROM admitted WHERE count <= $7::int8))
                RETURNING r.family_id, r.scope),
            access AS (
                INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                SELECT $10, family_id, $3, $11 FROM rotated),
            successor AS (
                INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at)
                SELECT $8, family_id, scope, $12 FROM rotated)
            SELECT (SELECT count(*) FROM live)::int8 AS live, (SELECT count FROM admitted)::int8 AS counted,
                   (SELECT count(*) FROM rotated)::int8 AS rotated
            """
        let presentedHash: [UInt8]
        let familyID: UUID
        let clientID: String
        let now: Date
        let limit: RotationLimit?
        let access: TokenIssuer.AccessToken
        let successor: TokenIssuer.RefreshToken
        let sealedAnswer: [UInt8]

        func makeBindings() throws -> PostgresBindings {
            var binds = PostgresBindings()
            binds.append(ByteBuffer(bytes: presentedHash))
            binds.append(familyID)
            binds.append(clientID)
            binds.append(now)
            if let limit {
                binds.append(limit.bucket)
                binds.append(limit.windowStart)
                binds.append(Int64(limit.maximum))
            } else {
                binds.appendNull()
                binds.appendNull()
                binds.appendNull()
            }
            binds.append(successor.hash)
            binds.append(ByteBuffer(bytes: sealedAnswer))
            binds.append(access.jti)
            binds.append(access.expiresAt)
            binds.append(successor.expiresAt)
            return binds
        }

        func decodeRow(_ row: PostgresRow) throws -> (live: Int, counted: Int?, rotated: Int) {
            let columns = row.columns
            return (try columns["live"], try columns["counted"], try columns["rotated"])
        }
    }
}
