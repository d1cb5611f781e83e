import Foundation
import PostgresNIO
import Shared

/// Links between Gatehouse users and people at upstream identity providers (`user_identities`),
/// by (provider, subject). The first sign-in that an `allow` rule admits creates the user and the
/// link in one transaction; later sign-ins find the user by the link (never by e-mail address, so
/// an address at another provider cannot take over an account). `users link` makes a link by hand.
struct UserIdentityStore: Sendable {
    enum SignInOutcome: Sendable, Equatable {
        case signedIn(User, created: Bool)
        case notAllowed
        case disabled(User)
    }

    enum LinkOutcome: Sendable, Equatable {
        case linked(User)
        case noSuchUser
        /// The identity is already linked to this user.
        case alreadyLinked(username: String)
    }

    struct Link: Sendable, Equatable {
        let providerID: String
        let subject: String
        let username: String
        let email: String?
        let name: String?
        let linkedBy: String
        let linkedAt: Date
        let lastSignInAt: Date?
    }

    let database: Database
    /// A well-formed scrypt hash no password matches (`UserStore.dummyHash`): a user created
    /// through a provider has no password until an operator sets one.
    let noPasswordHash: String

    /// The user `identity` signs in as. `allowed`: an `allow` rule matches. A link an operator made
    /// lets the person in whatever the rules say; one the first sign-in made needs a rule each
    /// time, so removing someone from the rules locks them out.
    func signIn(_ identity: FederatedIdentity, allowed: Bool, usernameHint: String, now: Date) async throws -> SignInOutcome {
        let noPasswordHash = self.noPasswordHash
        return try await database.transaction { connection in
            // Two first sign-ins of one person at once: the second waits, then finds the link.
            _ = try await connection.query(
                "SELECT pg_advisory_xact_lock(hashtextextended(\("identity:\(identity.providerID.utf8.count):\(identity.providerID):\(identity.subject)"), 0))",
                logger: connection.logger)
            let email = (try? identity.email.flatMap(UserProfile.validatedEmail)) ?? nil
            let name = (try? identity.name.flatMap(UserProfile.validatedName)) ?? nil
            if let (user, linkedBy) = try await Self.linkedUser(identity, connection: connection) {
                guard allowed || linkedBy == "operator" else { return .notAllowed }
                guard !user.disabled else { return .disabled(user) }
                _ = try await connection.query("""
                    UPDATE user_identities SET email = \(email), name = \(name), last_sign_in_at = \(now)
                    WHERE provider_id = \(identity.providerID) AND subject = \(identity.subject)
                    """, logger: connection.logger)
                return .signedIn(user, created: false)
            }
            guard allowed else { return .notAllowed }
            var created: User?
            for candidate in Self.usernameCandidates(usernameHint) where created == nil {
                created = try await UserStore.insertIfAbsent(
                    username: candidate, passwordHash: noPasswordHash, email: email,
                    emailVerified: email != nil && identity.emailVerified, name: name, connection: connection)
            }
            guard let user = created else { throw OAuthError.serverError(debug: "no free username for \(usernameHint)") }
            try await Self.insertLink(identity.providerID, identity.subject, userID: user.id, email: email, name: name,
                                      linkedBy: "sign-in", now: now, lastSignIn: now, connection: connection)
            try await AuditLog.record(.userCreated, username: user.username,
                                      detail: ["provider": identity.providerID, "source": "first sign-in"], connection: connection)
            return .signedIn(user, created: true)
        }
    }

    /// `users link`: the identity now signs in as `username`; an earlier link of it is replaced.
    func link(username raw: String, providerID: String, subject: String, now: Date) async throws -> LinkOutcome {
        guard let username = try? UserStore.normalizedUsername(raw) else { return .noSuchUser }
        return try await database.transaction { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: UserStore.columns) FROM users WHERE username = \(username) FOR UPDATE", logger: connection.logger)
            var found: User?
            for try await row in rows { found = try UserStore.user(from: row) }
            guard let user = found else { return .noSuchUser }
            let identity = FederatedIdentity(providerID: providerID, subject: subject, email: nil, emailVerified: false,
                                             name: nil, login: nil)
            if let (existing, linkedBy) = try await Self.linkedUser(identity, connection: connection),
               existing.id == user.id, linkedBy == "operator" {
                return .alreadyLinked(username: user.username)
            }
            _ = try await connection.query(
                "DELETE FROM user_identities WHERE provider_id = \(providerID) AND subject = \(subject)", logger: connection.logger)
            try await Self.insertLink(providerID, subject, userID: user.id, email: nil, name: nil, linkedBy: "operator",
                                      now: now, lastSignIn: nil, connection: connection)
            return .linked(user)
        }
    }

    /// Removes a link; false when there was none.
    func unlink(providerID: String, subject: String) async throws -> Bool {
        let rows = try await database.query(
            "DELETE FROM user_identities WHERE provider_id = \(providerID) AND subject = \(subject) RETURNING user_id")
        return !rows.isEmpty
    }

    /// Every link (of one user when `username` is given), by user then provider.
    func list(username: String? = nil) async throws -> [Link] {
        let name = username.flatMap { try? UserStore.normalizedUsername($0) }
        let rows = try await database.query("""
            SELECT i.provider_id, i.subject, u.username, i.email, i.name, i.linked_by, i.linked_at, i.last_sign_in_at
            FROM user_identities i JOIN users u ON u.id = i.user_id
            WHERE \(name) :: text IS NULL OR u.username = \(name)
            ORDER BY u.username, i.provider_id, i.subject
            """)
        return try rows.map { row in
            let c = row.columns
            return Link(providerID: try c["provider_id"], subject: try c["subject"], username: try c["username"],
                        email: try c["email"], name: try c["name"], linkedBy: try c["linked_by"],
                        linkedAt: try c["linked_at"], lastSignInAt: try c["last_sign_in_at"])
        }
    }

    private static func linkedUser(_ identity: FederatedIdentity, connection: PostgresConnection) async throws -> (User, String)? {
        let rows = try await connection.query("""
            SELECT u.id, u.username, u.disabled, u.created_at, u.email, u.email_verified, u.name, i.linked_by
            FROM user_identities i JOIN users u ON u.id = i.user_id
            WHERE i.provider_id = \(identity.providerID) AND i.subject = \(identity.subject)
            """, logger: connection.logger)
        for try await row in rows {
            return (try UserStore.user(from: row), try row.columns["linked_by"])
        }
        return nil
    }

    private static func insertLink(_ providerID: String, _ subject: String, userID: UUID, email: String?, name: String?,
                                   linkedBy: String, now: Date, lastSignIn: Date?, connection: PostgresConnection) async throws {
        _ = try await connection.query("""
            INSERT INTO user_identities (provider_id, subject, user_id, email, name, linked_by, linked_at, last_sign_in_at)
            VALUES (\(providerID), \(subject), \(userID), \(email), \(name), \(linkedBy), \(now), \(lastSignIn))
            """, logger: connection.logger)
    }

    /// The username a new account gets: the hint made valid (lowercase; characters outside
    /// `a-z 0-9 . _ @ -` become `-`), then `-2` … `-20` after it, then a random suffix.
    static func usernameCandidates(_ hint: String) -> [String] {
        var base = String(hint.lowercased().map { UserStore.usernameCharacters.contains($0) ? $0 : "-" }.prefix(56))
        while let last = base.last, last == "-" || last == "." { base.removeLast() }
        while let first = base.first, first == "-" || first == "." { base.removeFirst() }
        if base.isEmpty { base = "user" }
        return [base] + (2...20).map { "\(base)-\($0)" } + ["\(base)-\(SecureRandom.token(byteCount: 4).lowercased().prefix(6))"]
    }
}
