import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Cheap scrypt parameters: these tests are about the store, not the hash's cost.
private let fastHasher = PasswordHasher(parameters: .init(logN: 4, r: 8, p: 1))
private let password = "correct horse battery"

@Suite struct UserStoreTests {
    @Test func createNormalizesAndFinds() async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            let name = TestDatabase.uniqueName("Alice")
            let user = try await store.create(username: name, password: password)
            #expect(user.username == name.lowercased())
            #expect(!user.disabled)
            #expect(try await store.find(username: name.uppercased()) == user)
            #expect(try await store.find(id: user.id) == user)
            #expect(try await store.find(username: "no such user!") == nil)
            #expect(try await store.list().contains(user))
        }
    }

    @Test(arguments: ["", String(repeating: "a", count: 65), "has space", "ünïcode", "semi;colon", "slash/x"])
    func rejectsInvalidUsernames(_ username: String) async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            await #expect(throws: UserStoreError.self) {
                try await store.create(username: username, password: password)
            }
        }
    }

    @Test func acceptsEveryAllowedCharacter() throws {
        #expect(try UserStore.normalizedUsername("A.b_c@d-e9") == "a.b_c@d-e9")
        #expect(try UserStore.normalizedUsername(String(repeating: "z", count: 64)).count == 64)
    }

    @Test func rejectsShortAndHugePasswords() async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            await #expect(throws: UserStoreError.invalidPassword("must be at least 8 characters")) {
                try await store.create(username: TestDatabase.uniqueName("u"), password: "1234567")
            }
            await #expect(throws: UserStoreError.invalidPassword("must be at most 1024 characters")) {
                try await store.create(username: TestDatabase.uniqueName("u"), password: String(repeating: "x", count: 1025))
            }
            _ = try await store.create(username: TestDatabase.uniqueName("u"), password: "12345678")
        }
    }

    @Test func duplicateIsAlreadyExistsWhateverTheCase() async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            let name = TestDatabase.uniqueName("dup")
            _ = try await store.create(username: name, password: password)
            await #expect(throws: UserStoreError.alreadyExists(name)) {
                try await store.create(username: name.uppercased(), password: password)
            }
        }
    }

    @Test func authenticateOnlyWithRightPasswordAndEnabledAccount() async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            let name = TestDatabase.uniqueName("auth")
            let user = try await store.create(username: name, password: password)
            #expect(try await store.authenticate(username: name.uppercased(), password: password) == user)
            #expect(try await store.authenticate(username: name, password: password + "x") == nil)
            #expect(try await store.authenticate(username: name + "-nobody", password: password) == nil)
            #expect(try await store.authenticate(username: "not a valid name", password: password) == nil)
            #expect(try await store.setDisabled(name, true))
            #expect(try await store.authenticate(username: name, password: password) == nil)
            #expect(try await store.setDisabled(name, false))
            #expect(try await store.authenticate(username: name, password: password)?.id == user.id)
        }
    }

    /// The dummy hash must parse with our parameters, or unknown users would answer faster.
    @Test func dummyHashCostsAsMuchAsARealOne() async throws {
        try await TestDatabase.withDatabase { db in
            for hasher in [fastHasher, PasswordHasher()] {
                let store = UserStore(database: db, hasher: hasher)
                #expect(!hasher.needsRehash(store.dummyHash))
                #expect(!hasher.verify("", against: store.dummyHash))
            }
        }
    }

    @Test func weakHashIsUpgradedOnLogin() async throws {
        try await TestDatabase.withDatabase { db in
            let name = TestDatabase.uniqueName("rehash")
            _ = try await UserStore(database: db, hasher: fastHasher).create(username: name, password: password)
            let stronger = PasswordHasher(parameters: .init(logN: 5, r: 8, p: 1))
            let store = UserStore(database: db, hasher: stronger)
            #expect(try await store.authenticate(username: name, password: password) != nil)
            let stored = try await storedHash(db, name)
            #expect(stored.hasPrefix("$scrypt$ln=5,r=8,p=1$"))
            #expect(try await store.authenticate(username: name, password: password) != nil)
            #expect(try await storedHash(db, name) == stored)
        }
    }

    /// A hash made with the former default (N=2^15) is upgraded to the production default
    /// (N=2^17, r=8, p=1) by the next successful login, and still verifies afterwards.
    @Test func formerDefaultHashIsUpgradedToTheOWASPMinimumOnLogin() async throws {
        try await TestDatabase.withDatabase { db in
            let name = TestDatabase.uniqueName("owasp")
            let former = PasswordHasher(parameters: .init(logN: 15, r: 8, p: 1))
            _ = try await UserStore(database: db, hasher: former).create(username: name, password: password)
            #expect(try await storedHash(db, name).hasPrefix("$scrypt$ln=15,r=8,p=1$"))
            let store = UserStore(database: db)
            #expect(try await store.authenticate(username: name, password: "not the password") == nil)
            #expect(try await storedHash(db, name).hasPrefix("$scrypt$ln=15,r=8,p=1$"), "a failed login changes nothing")
            #expect(try await store.authenticate(username: name, password: password) != nil)
            let upgraded = try await storedHash(db, name)
            #expect(upgraded.hasPrefix("$scrypt$ln=17,r=8,p=1$"))
            #expect(PasswordHasher().verify(password, against: upgraded))
        }
    }

    @Test func disablingRevokesFamiliesAndSessionsTogether() async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            let name = TestDatabase.uniqueName("disable")
            let user = try await store.create(username: name, password: password)
            let family = UUID()
            let jti = TestDatabase.uniqueName("jti")
            _ = try await db.query("""
                INSERT INTO token_families (id, client_id, user_id, scope, resource)
                VALUES (\(family), 'some-client', \(user.id), 'notes:read', 'http://localhost:8000/mcp')
                """)
            _ = try await db.query("""
                INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                VALUES (\(jti), \(family), 'some-client', now() + interval '1 hour')
                """)
            _ = try await db.query("""
                INSERT INTO login_sessions (id_hash, user_id, expires_at)
                VALUES (\(ByteBuffer(bytes: Digest.sha256(jti))), \(user.id), now() + interval '1 hour')
                """)

            #expect(try await store.setDisabled(name, true))

            let revoked = try await db.query("SELECT revoked_at IS NOT NULL FROM token_families WHERE id = \(family)")
            #expect(try revoked.first?.decode(Bool.self, context: .default) == true)
            let denied = try await db.query("SELECT count(*) FROM revoked_access_tokens WHERE jti = \(jti)")
            #expect(try denied.first?.decode(Int.self, context: .default) == 1)
            let sessions = try await db.query("SELECT count(*) FROM login_sessions WHERE user_id = \(user.id)")
            #expect(try sessions.first?.decode(Int.self, context: .default) == 0)
            #expect(try await store.find(username: name)?.disabled == true)
            #expect(try await store.setDisabled(name + "-nobody", true) == false)
        }
    }

    @Test func setPasswordReplacesTheOldOne() async throws {
        try await TestDatabase.withDatabase { db in
            let store = UserStore(database: db, hasher: fastHasher)
            let name = TestDatabase.uniqueName("setpw")
            _ = try await store.create(username: name, password: password)
            #expect(try await store.setPassword(username: name, password: "a brand new secret"))
            #expect(try await store.authenticate(username: name, password: password) == nil)
            #expect(try await store.authenticate(username: name, password: "a brand new secret") != nil)
            #expect(try await store.setPassword(username: name + "-nobody", password: "a brand new secret") == false)
            await #expect(throws: UserStoreError.self) {
                try await store.setPassword(username: name, password: "short")
            }
        }
    }
}

private func storedHash(_ db: Database, _ username: String) async throws -> String {
    let rows = try await db.query("SELECT password_hash FROM users WHERE username = \(username)")
    return try #require(rows.first).decode(String.self, context: .default)
}
