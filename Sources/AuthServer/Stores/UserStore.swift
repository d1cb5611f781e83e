import Foundation
import NIOPosix
import PostgresNIO
import Shared

/// A person who can sign in at the authorization server.
struct User: Sendable, Equatable {
    let id: UUID
    let username: String
    let disabled: Bool
    let createdAt: Date
    /// Optional OpenID Connect claims (`email`, `email_verified`, `name`), set by the operator.
    var email: String? = nil
    /// Whether the operator vouches that the address belongs to the person (`--email-verified`).
    var emailVerified = false
    var name: String? = nil
}

extension User {
    /// A row with `UserStore.columns`, read by name.
    init(columns: NamedColumns) throws {
        self.init(id: try columns["id"], username: try columns["username"], disabled: try columns["disabled"],
                  createdAt: try columns["created_at"], email: try columns["email"],
                  emailVerified: try columns["email_verified"], name: try columns["name"])
    }
}

/// Why a user could not be created or changed. The description is shown to the operator as is.
enum UserStoreError: Error, Equatable, CustomStringConvertible {
    case invalidUsername(String)
    case invalidPassword(String)
    case alreadyExists(String)
    case invalidEmail(String)
    case invalidName(String)

    var description: String {
        switch self {
        case .invalidUsername(let reason): "invalid username: \(reason)"
        case .invalidPassword(let reason): "invalid password: \(reason)"
        case .invalidEmail(let reason): "invalid email: \(reason)"
        case .invalidName(let reason): "invalid name: \(reason)"
        case .alreadyExists(let username): "a user named \"\(username)\" already exists"
        }
    }
}

/// Users and their scrypt password hashes. Passwords are only ever hashed here and never leave.
struct UserStore: Sendable {
    static let usernameCharacters = Set("abcdefghijklmnopqrstuvwxyz0123456789._@-")
    static let usernameLength = 1...64
    static let passwordLength = 8...1024

    let database: Database
    let hasher: PasswordHasher

    init(database: Database, hasher: PasswordHasher = PasswordHasher()) {
        self.database = database
        self.hasher = hasher
    }

    /// Usernames are compared lowercased, so "Alice" and "alice" are one account.
    static func normalizedUsername(_ raw: String) throws(UserStoreError) -> String {
        let username = raw.lowercased()
        guard usernameLength.contains(username.count) else {
            throw .invalidUsername("must be \(usernameLength.lowerBound) to \(usernameLength.upperBound) characters")
        }
        guard username.allSatisfy(usernameCharacters.contains) else {
            throw .invalidUsername("may contain only a-z, 0-9, '.', '_', '@' and '-'")
        }
        return username
    }

    static func validatePassword(_ password: String) throws(UserStoreError) {
        guard password.count >= passwordLength.lowerBound else {
            throw .invalidPassword("must be at least \(passwordLength.lowerBound) characters")
        }
        guard password.count <= passwordLength.upperBound else {
            throw .invalidPassword("must be at most \(passwordLength.upperBound) characters")
        }
    }

    func create(username raw: String, password: String, profile: UserProfile = UserProfile()) async throws -> User {
        let username = try Self.normalizedUsername(raw)
        try Self.validatePassword(password)
        let email = try profile.email.map(UserProfile.validatedEmail) ?? nil
        let name = try profile.name.map(UserProfile.validatedName) ?? nil
        let verified = email != nil && (profile.emailVerified ?? false)
        let hash = try await hashOffloaded(password)
        let user = try await database.transaction { connection in
            try await Self.insertIfAbsent(username: username, passwordHash: hash, email: email, emailVerified: verified,
                                          name: name, connection: connection)
        }
        guard let user else { throw UserStoreError.alreadyExists(username) }
        return user
    }

    /// Inserts a user with validated fields inside the caller's transaction; nil when the username
    /// is taken. ON CONFLICT instead of catching the unique violation: no error parsing, same
    /// atomicity, and the caller's transaction stays usable.
    static func insertIfAbsent(username: String, passwordHash hash: String, email: String?, emailVerified: Bool,
                               name: String?, connection: PostgresConnection) async throws -> User? {
        let rows = try await connection.query("""
            INSERT INTO users (id, username, password_hash, email, email_verified, name)
            VALUES (\(UUID()), \(username), \(hash), \(email), \(emailVerified), \(name))
            ON CONFLICT (username) DO NOTHING
            RETURNING \(unescaped: columns)
            """, logger: connection.logger)
        var inserted: User?
        for try await row in rows { inserted = try Self.user(from: row) }
        return inserted
    }

    /// Changes the profile claims `profile` names (nil leaves one as it is, "" removes it).
    /// Returns nil when there is no such user.
    func update(username raw: String, profile: UserProfile) async throws -> User? {
        guard let username = try? Self.normalizedUsername(raw) else { return nil }
        let email = try profile.email.map(UserProfile.validatedEmail)
        let name = try profile.name.map(UserProfile.validatedName)
        return try await database.transaction { connection in
            let rows = try await connection.query(
                "SELECT \(unescaped: Self.columns) FROM users WHERE username = \(username) FOR UPDATE",
                logger: connection.logger)
            var found: User?
            for try await row in rows { found = try Self.user(from: row) }
            guard let current = found else { return nil }
            let next = profile.applied(to: current, email: email, name: name)
            let updated = try await connection.query("""
                UPDATE users SET email = \(next.email), email_verified = \(next.emailVerified), name = \(next.name),
                       updated_at = now()
                WHERE id = \(current.id) RETURNING \(unescaped: Self.columns)
                """, logger: connection.logger)
            var result: User?
            for try await row in updated { result = try Self.user(from: row) }
            return result
        }
    }

    func find(username raw: String) async throws -> User? {
        guard let username = try? Self.normalizedUsername(raw) else { return nil }
        return try await database.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE username = \(username)"
        ).first.map(Self.user(from:))
    }

    func find(id: UUID) async throws -> User? {
        try await database.query(
            "SELECT \(unescaped: Self.columns) FROM users WHERE id = \(id)"
        ).first.map(Self.user(from:))
    }

    func list() async throws -> [User] {
        try await database.query(
            "SELECT \(unescaped: Self.columns) FROM users ORDER BY username"
        ).map(Self.user(from:))
    }

    /// The columns every `User` is read from, by name (`User.init(columns:)`).
    static let columns = "id, username, disabled, created_at, email, email_verified, name"

    static func user(from row: PostgresRow) throws -> User {
        try User(columns: row.columns)
    }

    /// scrypt takes tens of milliseconds of CPU; running it on NIO's blocking pool keeps it off
    /// the cooperative threads that serve every other request.
    func hashOffloaded(_ password: String) async throws -> String {
        let hasher = self.hasher
        return try await NIOThreadPool.singleton.runIfActive { try hasher.hash(password) }
    }

    func verifyOffloaded(_ password: String, against encoded: String) async -> Bool {
        let hasher = self.hasher
        return (try? await NIOThreadPool.singleton.runIfActive { hasher.verify(password, against: encoded) }) ?? false
    }
}

extension UserStore {
    /// The user, when the password matches and the account is enabled; otherwise nil, with no
    /// hint as to which check failed.
    ///
    /// Every path costs one scrypt verification, so response time does not reveal whether the
    /// username exists (OWASP Authentication Cheat Sheet, "Authentication Responses").
    func authenticate(username raw: String, password: String) async throws -> User? {
        guard let username = try? Self.normalizedUsername(raw), password.count <= Self.passwordLength.upperBound else {
            _ = await verifyOffloaded(password, against: dummyHash)
            return nil
        }
        let rows = try await database.query(
            "SELECT password_hash, \(unescaped: Self.columns) FROM users WHERE username = \(username)")
        guard let row = rows.first else {
            _ = await verifyOffloaded(password, against: dummyHash)
            return nil
        }
        let storedHash: String = try row.columns["password_hash"]
        let user = try Self.user(from: row)
        guard await verifyOffloaded(password, against: storedHash), !user.disabled else { return nil }
        if hasher.needsRehash(storedHash) {
            await rehash(userID: user.id, from: storedHash, password: password)
        }
        return user
    }

    /// A well-formed hash with our parameters that no password matches (its bytes are fixed, not
    /// derived from anything), so verifying against it costs exactly what a real check costs.
    var dummyHash: String {
        let p = hasher.parameters
        return "$scrypt$ln=\(p.logN),r=\(p.r),p=\(p.p)$Z2F0ZWhvdXNlLWR1bW15$"
            + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    }

    /// Upgrades a hash made with older, weaker parameters. Best effort: the login already
    /// succeeded, and the compare-and-set keeps a concurrent password change from being undone.
    private func rehash(userID: UUID, from oldHash: String, password: String) async {
        do {
            let newHash = try await hashOffloaded(password)
            _ = try await database.query("""
                UPDATE users SET password_hash = \(newHash), updated_at = now()
                WHERE id = \(userID) AND password_hash = \(oldHash)
                """)
        } catch {
            database.logger.warning("could not upgrade password hash", metadata: ["user_id": "\(userID)", "error": "\(error)"])
        }
    }
}
