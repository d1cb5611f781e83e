import Foundation
import NIOCore
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Migration 16: a federated sign-in in flight keeps its PKCE verifier sealed under the KEK and
/// its nonce not at all (derived from the `state`, of which only the SHA-256 is stored). Real
/// PostgreSQL, a database of its own (the reseal counts every row of the table).
@Suite struct FederatedLoginStoreTests {
    struct Row: Sendable {
        let nonce: String?
        let verifier: String?
        let sealed: [UInt8]?
    }

    static func row(_ database: Database, state: String) async throws -> Row {
        let rows = try await database.query("""
            SELECT nonce, code_verifier, code_verifier_sealed FROM federated_logins
            WHERE state_hash = \(ByteBuffer(bytes: Digest.sha256(state)))
            """)
        let (nonce, verifier, sealed) = try #require(rows.first).decode((String?, String?, ByteBuffer?).self)
        return Row(nonce: nonce, verifier: verifier, sealed: sealed.map { Array(buffer: $0) })
    }

    @Test("neither the verifier nor the nonce is stored in plain; the callback gets both back, once, under its own KEK only")
    func sealedAndDerived() async throws {
        try await TestDatabase.withEmptyDatabase { database in
            let (a, b) = (KeyEncryptionKey.generate(), KeyEncryptionKey.generate())
            let store = FederatedLoginStore(database: database, kek: a)
            let now = Date()
            let started = try await store.start(providerID: "corp", continuation: .account, now: now)
            #expect(started.nonce == FederatedLoginStore.nonce(for: started.state))
            #expect(started.nonce != Base64URL.encode(Digest.sha256(started.state)), "the nonce must not be the stored state hash")
            let stored = try await Self.row(database, state: started.state)
            #expect(stored.nonce == nil && stored.verifier == nil)
            let sealed = try #require(stored.sealed)
            #expect(!String(decoding: sealed, as: UTF8.self).contains(started.codeVerifier))

            let found = try await store.consume(state: started.state, now: now)
            #expect(found == FederatedLoginStore.InFlight(providerID: "corp", continuation: .account,
                                                           browserBindingHash: Digest.sha256(started.browserBinding),
                                                           nonce: started.nonce, codeVerifier: started.codeVerifier))
            #expect(try await store.consume(state: started.state, now: now) == nil, "single-use")

            // Under another KEK the verifier does not open: the sign-in cannot finish.
            let other = try await store.start(providerID: "corp", continuation: .account, now: now)
            #expect(try await FederatedLoginStore(database: database, kek: b).consume(state: other.state, now: now) == nil)
        }
    }

    @Test("a row of the previous release (plain nonce and verifier) still finishes")
    func previousReleaseRow() async throws {
        try await TestDatabase.withEmptyDatabase { database in
            let state = SecureRandom.token()
            _ = try await database.query("""
                INSERT INTO federated_logins (state_hash, provider_id, request_id, browser_binding_hash, nonce, code_verifier,
                                              created_at, expires_at)
                VALUES (\(ByteBuffer(bytes: Digest.sha256(state))), 'corp', 'account', \(ByteBuffer(bytes: Digest.sha256("b"))),
                        'old-nonce', 'old-verifier-0123456789012345678901234567890', now(), now() + interval '10 minutes')
                """)
            let found = try await FederatedLoginStore(database: database, kek: .generate()).consume(state: state, now: Date())
            #expect(found?.nonce == "old-nonce")
            #expect(found?.codeVerifier == "old-verifier-0123456789012345678901234567890")
        }
    }

    @Test("keys reseal moves the sealed verifier from KEK A to KEK B in the caller's transaction")
    func reseal() async throws {
        try await TestDatabase.withEmptyDatabase { database in
            let (a, b) = (KeyEncryptionKey.generate(), KeyEncryptionKey.generate())
            let started = try await FederatedLoginStore(database: database, kek: a).start(providerID: "corp", continuation: .account,
                                                                                          now: Date())
            let first = try await database.transaction { connection in
                try await FederatedLoginStore.reseal(from: a, to: b, now: Date(), connection: connection)
            }
            #expect(first.resealed == 1 && first.alreadyCurrent == 0 && first.unreadable == 0)
            let again = try await database.transaction { connection in
                try await FederatedLoginStore.reseal(from: a, to: b, now: Date(), connection: connection)
            }
            #expect(again.resealed == 0 && again.alreadyCurrent == 1)
            let found = try await FederatedLoginStore(database: database, kek: b).consume(state: started.state, now: Date())
            #expect(found?.codeVerifier == started.codeVerifier)
        }
    }
}
