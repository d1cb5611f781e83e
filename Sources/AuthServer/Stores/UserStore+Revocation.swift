import Foundation
import PostgresNIO
import Shared

/// Disabling a user and changing a password end what the user holds: every token family (so
/// the resource servers refuse the access tokens through the revocation feed), every code not
/// yet exchanged, and every login session. All of it commits in one transaction with the change
/// to the user, so no half-revoked user is ever visible.
///
/// Lock order, the same on every path, so that no two of them can deadlock: a code row, then
/// the user row. The authorization-code grant locks its code (`FOR UPDATE`) and then the user
/// (`lockedForGrant`, `FOR SHARE`); here the codes are deleted before the user row is updated.
/// A grant that got its code first commits first, and the families selected afterwards include
/// the one it created; one that comes later finds its code gone or the account disabled.
extension UserStore {
    /// Disabling ends everything the user holds (see above). Enabling revokes nothing and
    /// restores nothing: revoked tokens stay revoked.
    func setDisabled(_ raw: String, _ disabled: Bool) async throws -> Bool {
        try await changeDisabled(raw, disabled) != nil
    }

    /// What disabling (or enabling) one user did.
    struct DisabledChange: Sendable {
        let userID: UUID
        /// The connections deleted with the disable, still sealed: `users disable` revokes them at
        /// their providers after the commit, so no provider's answer holds the disable up.
        let removedConnections: [UserConnectionStore.Removed]
    }

    /// `setDisabled`, returning the user and their deleted connections; nil when there is no such user.
    func changeDisabled(_ raw: String, _ disabled: Bool) async throws -> DisabledChange? {
        guard let username = try? Self.normalizedUsername(raw) else { return nil }
        return try await database.transaction { connection in
            guard let userID = try await Self.userID(username, connection: connection) else { return nil }
            var removed: [UserConnectionStore.Removed] = []
            if disabled {
                try await Self.endEverything(of: userID, reason: "user disabled", connection: connection)
                try await APIKeyStore.revokeAll(ofUser: userID, connection: connection)
                // Issue 12: a disabled user's connection tokens go too, in this transaction.
                removed = try await UserConnectionStore.deleteAll(userID: userID, connection: connection)
            }
            _ = try await connection.query(
                "UPDATE users SET disabled = \(disabled), updated_at = now() WHERE id = \(userID)", logger: connection.logger)
            return DisabledChange(userID: userID, removedConnections: removed)
        }
    }

    /// A new password ends everything the user holds, like disabling, because a reset usually
    /// follows a suspected compromise: whoever holds an old session or token must sign in again.
    /// `keepSessions` (the `--keep-sessions` flag of `users set-password`) leaves sessions, codes
    /// and tokens alone, for a routine change by the person themselves.
    func setPassword(username raw: String, password: String, keepSessions: Bool = false) async throws -> Bool {
        let username = try Self.normalizedUsername(raw)
        try Self.validatePassword(password)
        let hash = try await hashOffloaded(password)
        return try await database.transaction { connection in
            try await Self.setPasswordHash(hash, username: username, keepSessions: keepSessions, connection: connection)
        }
    }

    /// `setPassword` inside the caller's transaction, for an already validated `username` and a
    /// hashed password; also used by `createOrSetPassword` (`users create --update-existing`).
    /// False when there is no such user.
    static func setPasswordHash(_ hash: String, username: String, keepSessions: Bool,
                                connection: PostgresConnection) async throws -> Bool {
        guard let userID = try await userID(username, connection: connection) else { return false }
        if !keepSessions {
            try await endEverything(of: userID, reason: "password changed", connection: connection)
        }
        _ = try await connection.query(
            "UPDATE users SET password_hash = \(hash), updated_at = now() WHERE id = \(userID)", logger: connection.logger)
        return true
    }

    /// The user a code was issued to, share-locked until the grant's transaction ends (see the
    /// lock order above). Nil when the user no longer exists.
    static func lockedForGrant(id: UUID, connection: PostgresConnection) async throws -> User? {
        let rows = try await connection.query(
            "SELECT \(unescaped: columns) FROM users WHERE id = \(id) FOR SHARE", logger: connection.logger)
        var user: User?
        for try await row in rows { user = try Self.user(from: row) }
        return user
    }

    private static func userID(_ username: String, connection: PostgresConnection) async throws -> UUID? {
        let rows = try await connection.query("SELECT id FROM users WHERE username = \(username)", logger: connection.logger)
        var id: UUID?
        for try await found in rows.decode(UUID.self) { id = found }
        return id
    }

    /// Sessions first (a code is issued only while its session row exists, under `FOR SHARE`),
    /// then the codes not yet exchanged, then the families. Spent codes stay: a replay of one
    /// must still be recognised as such.
    private static func endEverything(of userID: UUID, reason: String, connection: PostgresConnection) async throws {
        _ = try await connection.query("DELETE FROM login_sessions WHERE user_id = \(userID)", logger: connection.logger)
        _ = try await connection.query(
            "DELETE FROM authorization_codes WHERE user_id = \(userID) AND consumed_at IS NULL", logger: connection.logger)
        try await TokenRevocation.revokeFamilies(of: .user(userID), reason: reason, connection: connection)
    }
}
