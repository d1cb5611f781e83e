import Foundation
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Issue 12 and the KEK runbook: `keys reseal` moves users' connection tokens and the PKCE
/// verifiers of connects in flight to the new key-encryption key in the signing keys'
/// transaction; otherwise they could not be opened once the old KEK is retired. The real
/// `AuthServer` binary, a database of its own.
@Suite struct KeyResealConnectionsTests {
    @Test("seal under KEK A, reseal to KEK B: the tokens and the verifier read back under B, no longer under A")
    func connectionsFollowTheKey() async throws {
        let db = try await AdminDatabase.make()
        let (kekA, kekB) = (db.kek, KeyEncryptionKey.generateBase64())
        let (a, b) = (try KeyEncryptionKey(base64: kekA), try KeyEncryptionKey(base64: kekB))
        let files = try KEKFiles(["a": kekA])
        defer { files.remove() }
        let name = TestDatabase.uniqueName("reseal-conn")
        #expect(try await db.run("users", "create", name, "--password-stdin", stdin: "correct horse battery staple 42\n").status == 0)
        let tokens = ConnectionTokens(accessToken: "access-under-a", refreshToken: "refresh-under-a", expiresAt: nil, scopes: "x")
        let accessOnly = ConnectionTokens(accessToken: "only-access-under-a", refreshToken: nil, expiresAt: nil, scopes: "")
        let user = try await db.withDatabase { database in
            let rows = try await database.query("SELECT id FROM users WHERE username = \(name)")
            let user: UUID = try #require(rows.first).decode(UUID.self)
            try await UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: a))
                .save(userID: user, connectionID: "crm", tokens: tokens, now: Date())
            try await UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: a))
                .save(userID: user, connectionID: "norefresh", tokens: accessOnly, now: Date())
            // Sealed under a third key: unreadable before and after, left as it is.
            try await UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: .generate()))
                .save(userID: user, connectionID: "lost", tokens: tokens, now: Date())
            let states = ConnectionStateStore(database: database, seal: ConnectionTokenSeal(kek: a))
            for state in ["state-one", "state-two"] {
                try await states.create(state: state, userID: user, sessionID: "session-1", connectionID: "crm",
                                        codeVerifier: "verifier-under-a", returnRequest: nil, now: Date())
            }
            return user
        }

        let environment = ["DATABASE_URL": db.url, "GATEHOUSE_KEK": kekB]
        let resealed = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", files["a"]], environment: environment)
        #expect(resealed.status == 0, "\(resealed)")
        #expect(resealed.stdout.contains("resealed 2 connection token row(s); 0 already were; 1 open under neither key"), "\(resealed)")
        #expect(resealed.stdout.contains("resealed 2 connect(s) in flight; 0 already were"), "\(resealed)")
        #expect(resealed.stdout.contains("resealed 0 federated sign-in(s) in flight; 0 already were"), "\(resealed)")
        #expect(!resealed.stdout.contains("under-a") && !resealed.stderr.contains("under-a"))
        let again = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", files["a"]], environment: environment)
        #expect(again.stdout.contains("resealed 0 connection token row(s); 2 already were"), "\(again)")
        #expect(try await db.run("audit", "list", "--kind", "keys_resealed").stdout.contains("connections_resealed=2"))

        try await db.withDatabase { database in
            let never: @Sendable (String) async -> ConnectionTokenOutcome = { _ in .failed(reason: "not called") }
            let underB = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: b))
            #expect(try await underB.current(userID: user, connectionID: "crm", now: Date(), window: 60, refresh: never) == .live(tokens))
            #expect(try await underB.current(userID: user, connectionID: "lost", now: Date(), window: 60, refresh: never) == .broken)
            #expect(try await underB.current(userID: user, connectionID: "norefresh", now: Date(), window: 60, refresh: never)
                    == .live(accessOnly))
            let underA = UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: a))
            #expect(try await underA.current(userID: user, connectionID: "crm", now: Date(), window: 60, refresh: never) == .broken)

            let statesA = ConnectionStateStore(database: database, seal: ConnectionTokenSeal(kek: a))
            await #expect(throws: (any Error).self) {
                _ = try await statesA.consume(state: "state-two", sessionID: "session-1", connectionID: "crm", now: Date())
            }
            let statesB = ConnectionStateStore(database: database, seal: ConnectionTokenSeal(kek: b))
            let started = try await statesB.consume(state: "state-one", sessionID: "session-1", connectionID: "crm", now: Date())
            #expect(started?.codeVerifier == "verifier-under-a")
        }
    }
}
