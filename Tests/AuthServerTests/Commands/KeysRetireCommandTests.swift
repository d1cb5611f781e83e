import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Issue 9 C.7, the key-compromise procedure: `AuthServer keys retire <kid> [--immediately]`, run
/// as an operator would, against a database of its own (retiring must not disturb other tests' keys).
@Suite struct KeysRetireCommandTests {
    @Test("retire --immediately: unpublished at once, listed for the resource servers, a successor signs, audited")
    func retireImmediately() async throws {
        let db = try await AdminDatabase.make()
        let first = try await db.withStore { store in
            try await store.bootstrap()
            return try await store.currentSigner().kid
        }
        let retired = try await db.run("keys", "retire", first, "--immediately", keys: true)
        #expect(retired.status == 0, "\(retired)")
        #expect(retired.stdout.contains("signing key \(first) is retired and unpublished"), "\(retired)")
        #expect(retired.stdout.contains("signs from now on"), "\(retired)")

        // Gone from /jwks.json (the endpoint reads `publishedKeys(fresh: true)`), and never signs again.
        let (published, signer) = try await db.withStore { store in
            (try await store.publishedKeys(fresh: true).compactMap(\.kid), try await store.currentSigner().kid)
        }
        #expect(!published.contains(first))
        #expect(signer != first)
        #expect(published.contains(signer))
        let listedForResourceServers = try await db.withDatabase { database in
            try await database.query("SELECT kid FROM revoked_signing_keys").map { try $0.decode(String.self) }
        }
        #expect(listedForResourceServers == [first])
        let audit = try await db.run("audit", "list", "--kind", "key_retired")
        #expect(audit.stdout.contains(first) && audit.stdout.contains("immediately=true"), "\(audit)")

        let unknown = try await db.run("keys", "retire", "no-such-kid", "--immediately", keys: true)
        #expect(unknown.status != 0 && unknown.stderr.contains("no signing key with kid no-such-kid"), "\(unknown)")
    }

    @Test("retire without --immediately: stops signing, stays published until its tokens expire; a pending key takes over")
    func retireGracefully() async throws {
        let db = try await AdminDatabase.make()
        let (active, pending) = try await db.withStore { store in
            try await store.bootstrap()
            let active = try await store.currentSigner().kid
            return (active, try await store.rotate())  // published now, signs in 300 s
        }
        let retired = try await db.run("keys", "retire", active, keys: true)
        #expect(retired.status == 0, "\(retired)")
        #expect(retired.stdout.contains("signing key \(pending) signs from now on"), "\(retired)")
        let (signer, published) = try await db.withStore { store in
            (try await store.currentSigner().kid, try await store.publishedKeys(fresh: true).compactMap(\.kid))
        }
        #expect(signer == pending)
        #expect(published.contains(active))
        let revoked = try await db.withDatabase { database in try await database.query("SELECT kid FROM revoked_signing_keys") }
        #expect(revoked.isEmpty)
        let listed = try await db.run("keys", "list", "--json", keys: true)
        let keys = try #require(try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]])
        #expect(Set(keys.compactMap { $0["state"] as? String }) == ["active", "retired"])
    }

    /// A kid is a base64url thumbprint, so one in 64 starts with `-` (CI met one: the parser read it
    /// as short flags, found `h` and printed the help with exit 0).
    @Test("a kid that starts with - is taken as the kid, before or after --immediately, and with --")
    func dashLeadingKeyID() async throws {
        let db = try await AdminDatabase.make()
        try await db.withStore { store in try await store.bootstrap() }
        let kid = "-jGaQGZCYf-dah9oQzoZ9iu17Ehu_FDjgXMwgvV1KOM"
        for arguments in [["keys", "retire", kid, "--immediately"], ["keys", "retire", "--immediately", kid],
                          ["keys", "retire", "--immediately", "--", kid]] {
            let retired = try await db.run(arguments, keys: true)
            #expect(retired.status != 0, "\(arguments): \(retired)")
            #expect(retired.stderr.contains("no signing key with kid \(kid)"), "\(arguments): \(retired)")
            #expect(!retired.stdout.contains("USAGE"), "\(arguments): \(retired)")
        }
    }

    @Test("only a 43-character base64url value that starts with - moves behind --")
    func keyIDArgumentShape() {
        let kid = "-jGaQGZCYf-dah9oQzoZ9iu17Ehu_FDjgXMwgvV1KOM"
        #expect(KeyIDArgument.protectingDashLeadingKeyIDs(["keys", "retire", kid, "--immediately"])
                == ["keys", "retire", "--immediately", "--", kid])
        #expect(KeyIDArgument.protectingDashLeadingKeyIDs(["keys", "retire", "--", kid]) == ["keys", "retire", "--", kid])
        for untouched in [["keys", "retire", "abc", "--immediately"], ["users", "list", "-h"],
                          ["keys", "retire", String(kid.dropLast())], ["keys", "retire", kid + "A"],
                          ["keys", "retire", "-jGaQGZCYf+dah9oQzoZ9iu17Ehu_FDjgXMwgvV1KOM"]] {
            #expect(KeyIDArgument.protectingDashLeadingKeyIDs(untouched) == untouched)
        }
    }

    @Test("keys retire --help works, and a missing kid is a usage error")
    func help() async throws {
        let help = try await AdminProcess.run(["keys", "retire", "--help"], environment: [:])
        #expect(help.status == 0 && help.stdout.contains("--immediately"), "\(help)")
        let missing = try await AdminProcess.run(["keys", "retire"], environment: [:])
        #expect(missing.status != 0, "\(missing)")
    }
}

extension AdminDatabase {
    /// The signing-key store over this database, with the same key-encryption key the commands get.
    func withStore<T: Sendable>(_ body: @escaping @Sendable (SigningKeyStore) async throws -> T) async throws -> T {
        let kek = try KeyEncryptionKey(base64: self.kek)
        return try await withDatabase { database in
            try await body(SigningKeyStore(database: database, kek: kek, bits: 2048, accessTokenLifetime: 3600,
                                           prepublishSeconds: 300, clock: .system, logger: TestDatabase.logger))
        }
    }
}
