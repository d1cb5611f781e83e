import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Signing keys in PostgreSQL: sealed at rest, rotated with pre-publication, retired keys kept
/// published until their tokens have expired, and a wrong key-encryption key failing clearly.
@Suite("SigningKeyStore")
struct SigningKeyStoreTests {
    static let kek = try! KeyEncryptionKey(base64: "c2lnbmluZyBrZXkgc3RvcmUgdGVzdHMgS0VLIDMyQiE=")

    private func withStore(kek: KeyEncryptionKey = Self.kek, clock: TestClock, config: DatabaseConfiguration,
                           _ body: @escaping @Sendable (SigningKeyStore, Database) async throws -> Void) async throws {
        let database = try Database(configuration: config, logger: TestDatabase.logger)
        let store = SigningKeyStore(database: database, kek: kek, bits: 2048, accessTokenLifetime: 3600,
                                    prepublishSeconds: 300, clock: clock.clock, logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            try await Migrator.migrate(database, logger: TestDatabase.logger)
            try await body(store, database)
        }
    }

    @Test("the first start creates one key, stored sealed, whose public half is the JWKS")
    func bootstrapSealsTheKey() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        try await withStore(clock: TestClock(Date()), config: config) { store, database in
            try await store.bootstrap()
            try await store.bootstrap()  // a second replica starting finds the key and adds none
            let keys = try await store.publishedKeys()
            #expect(keys.count == 1)
            let rows = try await database.query("SELECT private_key_sealed, kid FROM signing_keys")
            let columns = try #require(rows.first).columns
            let (sealed, kid): (ByteBuffer, String) = (try columns["private_key_sealed"], try columns["kid"])
            let signer = try await store.currentSigner()
            #expect(kid == signer.kid && keys[0].kid == kid)
            // The stored bytes are not the DER: they open only with the KEK and the kid bound in.
            let der = try signer.key.privateKeyDER()
            #expect(Array(buffer: sealed) != der)
            #expect(try Self.kek.open(Array(buffer: sealed), associatedData: Array(kid.utf8)) == der)
            #expect(throws: KeyEncryptionError.self) {
                try Self.kek.open(Array(buffer: sealed), associatedData: Array("other".utf8))
            }
        }
    }

    @Test("a first start generates its key while it migrates: stored when there was none, dropped when there is one")
    func firstKeyWhileMigrating() async throws {
        let database = try Database(configuration: try await TestDatabase.makeEmptyDatabase(), logger: TestDatabase.logger)
        let store = SigningKeyStore(database: database, kek: Self.kek, bits: 2048, accessTokenLifetime: 3600,
                                    prepublishSeconds: 300, clock: TestClock(Date()).clock, logger: TestDatabase.logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await database.client.run() }
            defer { group.cancelAll() }
            // As AuthServerBuilder does: the candidate is asked for before the migrations run.
            let generating = try #require(try await store.firstKeyCandidate())
            try await Migrator.migrate(database, logger: TestDatabase.logger)
            let candidate = try await generating.value
            try await store.bootstrap(candidate: candidate)
            #expect(try await store.currentSigner().kid == candidate.thumbprint())
            // Migrated and holding a key: no candidate, and one handed in anyway is not stored.
            #expect(try await store.firstKeyCandidate() == nil)
            try await store.bootstrap(candidate: try RSAKey.generate(bits: 2048))
            #expect(try await store.publishedKeys().count == 1)
            #expect(try await store.currentSigner().kid == candidate.thumbprint())
        }
    }

    @Test("a rotated key is published before it signs; the old one stays published until its tokens expire")
    func rotationTimeline() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        let clock = TestClock(Date())
        try await withStore(clock: clock, config: config) { store, _ in
            try await store.bootstrap()
            let old = try await store.currentSigner().kid
            clock.advance(seconds: 1)
            let new = try await store.rotate()
            // Published at once, but the old key still signs during pre-publication.
            #expect(Set(try await store.publishedKeys().compactMap(\.kid)) == [old, new])
            #expect(try await store.currentSigner().kid == old)
            clock.advance(seconds: 301)
            #expect(try await store.currentSigner().kid == new)
            // Retired at the switch, kept for the access-token lifetime (+60 s) after it.
            clock.advance(seconds: 3600 + 30)
            #expect(Set(try await store.publishedKeys(fresh: true).compactMap(\.kid)) == [old, new])
            clock.advance(seconds: 60)
            #expect(try await store.publishedKeys(fresh: true).compactMap(\.kid) == [new])
        }
    }

    @Test("rotate --immediately switches at once")
    func immediateRotation() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        // A whole second: PostgreSQL keeps microseconds, and a `signs_from` read back as a
        // hair later than the (frozen) test clock's now would not sign yet, now and then.
        let clock = TestClock(Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down)))
        try await withStore(clock: clock, config: config) { store, _ in
            try await store.bootstrap()
            clock.advance(seconds: 1)
            let new = try await store.rotate(immediately: true)
            #expect(try await store.currentSigner().kid == new)
        }
    }

    @Test("a wrong key-encryption key stops start-up with a message naming both fingerprints")
    func wrongKEKFailsClearly() async throws {
        let config = try await TestDatabase.makeEmptyDatabase()
        try await withStore(clock: TestClock(Date()), config: config) { store, _ in try await store.bootstrap() }
        let other = KeyEncryptionKey.generate()
        try await withStore(kek: other, clock: TestClock(Date()), config: config) { store, _ in
            let error = await #expect(throws: SigningKeyError.self) { try await store.bootstrap() }
            let message = "\(error.map { "\($0)" } ?? "")"
            #expect(message.contains(other.fingerprint) && message.contains(Self.kek.fingerprint))
            #expect(message.contains("GATEHOUSE_KEK"))
        }
    }
}
