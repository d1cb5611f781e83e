import Foundation
import PostgresNIO
import Shared

/// What `createOrSetPassword` did.
enum CreateOrSetPasswordOutcome: Sendable, Equatable {
    case created(User)
    /// The user existed; their password was set as `setPassword` sets it.
    case passwordSet(username: String)
}

extension UserStore {
    /// `users create --update-existing`: creates the user, or, when the name is taken, sets the
    /// password exactly as `setPassword` does (everything the user holds is revoked unless
    /// `keepSessions`), in one transaction, so provisioning scripts need not parse `users list`.
    ///
    /// The insert's `ON CONFLICT DO NOTHING` locks no row, so the lock order of `setPassword`
    /// (codes, then the user row) is kept; a concurrent create of the same name waits for the
    /// first to commit and then finds the user.
    func createOrSetPassword(username raw: String, password: String,
                             keepSessions: Bool = false) async throws -> CreateOrSetPasswordOutcome {
        let username = try Self.normalizedUsername(raw)
        try Self.validatePassword(password)
        let hash = try await hashOffloaded(password)
        return try await database.transaction { connection in
            if let user = try await Self.insertIfAbsent(username: username, passwordHash: hash, email: nil,
                                                        emailVerified: false, name: nil, connection: connection) {
                return .created(user)
            }
            guard try await Self.setPasswordHash(hash, username: username, keepSessions: keepSessions,
                                                 connection: connection)
            else { throw UserStoreError.alreadyExists(username) }  // taken, yet gone: never in practice
            return .passwordSet(username: username)
        }
    }
}
