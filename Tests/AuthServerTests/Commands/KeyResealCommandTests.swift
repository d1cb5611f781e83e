import Foundation
import HTTPTypes
import HummingbirdTesting
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// The key-encryption-key rotation of docs/operations.md, end to end, as an operator runs it:
/// the `AuthServer` binary for the commands, the production builder for the servers, one
/// database of its own. Security review finding C.8: starting with a new KEK used to fail,
/// because the current signing key was sealed under the old one.
@Suite struct KeyResealCommandTests {
    @Test("KEK runbook: sign under KEK1, reseal to KEK2; KEK2 starts and old tokens verify against /jwks.json; KEK1 is refused")
    func runbook() async throws {
        let db = try await AdminDatabase.make()
        let kek1 = db.kek
        let kek2 = Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
        let (fingerprint1, fingerprint2) = (try KeyEncryptionKey(base64: kek1).fingerprint, try KeyEncryptionKey(base64: kek2).fingerprint)
        let files = try KEKFiles(["old": kek1, "new": kek2, "wrong": KeyEncryptionKey.generateBase64()])
        defer { files.remove() }

        // Before: a server with KEK1 bootstraps the first key and signs a token; a rotation adds a pending key.
        let token = try await Self.withServer(db, kek: kek1) { built, _ in try await Self.signToken(built) }
        #expect(try await db.run("keys", "rotate", keys: true).status == 0)
        #expect(try await db.fingerprints() == [fingerprint1, fingerprint1])

        // Refusals change nothing.
        let wrong = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", files["wrong"]],
                                               environment: ["DATABASE_URL": db.url, "GATEHOUSE_KEK": kek2])
        #expect(wrong.status == 1 && wrong.stderr.contains("sealed with key-encryption key \(fingerprint1)")
            && wrong.stderr.contains("nothing was changed"), "\(wrong)")
        let same = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", files["old"]],
                                              environment: ["DATABASE_URL": db.url, "GATEHOUSE_KEK": kek1])
        #expect(same.status == 1 && same.stderr.contains("are the same"), "\(same)")
        let unreadable = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", "/nonexistent/kek"],
                                                    environment: ["DATABASE_URL": db.url, "GATEHOUSE_KEK": kek2])
        #expect(unreadable.status == 78 && unreadable.stderr.contains("--old-kek-file"), "\(unreadable)")
        #expect(try await db.fingerprints() == [fingerprint1, fingerprint1])

        // The rotation: the new KEK as the servers will read it (a file), the old one by --old-kek-file.
        let environment = ["DATABASE_URL": db.url, "GATEHOUSE_KEK_FILE": files["new"]]
        let resealed = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", files["old"]], environment: environment)
        #expect(resealed.status == 0 && resealed.stdout.contains("resealed 2 signing key(s)"), "\(resealed)")
        #expect(try await db.fingerprints() == [fingerprint2, fingerprint2])
        let again = try await AdminProcess.run(["keys", "reseal", "--old-kek-file", files["old"]], environment: environment)
        #expect(again.status == 0 && again.stdout.contains("resealed 0 signing key(s)") && again.stdout.contains("2 already were"),
                "\(again)")
        #expect(try await db.run("audit", "list", "--kind", "keys_resealed").stdout.contains("new_kek=\(fingerprint2)"))

        // After: KEK2 starts, signs, and publishes the key that signed the old token.
        try await Self.withServer(db, kek: kek2) { built, client in
            let jwks = try await client.executeRequest(uri: "/jwks.json", method: .get, headers: [:], body: nil)
            #expect(jwks.status == .ok)
            try Self.expectVerifies(token, jwks: Data(String(buffer: jwks.body).utf8))
            _ = try await Self.signToken(built)
        }
        // KEK1 is now refused at start-up, by the real `serve`, with both fingerprints named.
        let stale = try await AdminProcess.run(["serve"], environment: [
            "DATABASE_URL": db.url, "GATEHOUSE_KEK": kek1, "GATEHOUSE_AUTH_PORT": "0", "GATEHOUSE_LOG_LEVEL": "critical",
        ], timeout: .seconds(60))
        #expect(stale.status != 0, "\(stale)")
        #expect(stale.stderr.contains("was sealed with key-encryption key \(fingerprint2), but the configured key is \(fingerprint1)"),
                "\(stale)")
    }

    // MARK: Helpers

    /// The production builder against the admin test database, with `kek`; its start-up
    /// (migrations, key bootstrap, the check that the current key opens) runs before `body`.
    static func withServer<T: Sendable>(
        _ db: AdminDatabase, kek: String,
        _ body: @escaping @Sendable (BuiltAuthServer, any TestClientProtocol) async throws -> T
    ) async throws -> T {
        let configuration = try AuthServerFixture.configuration(databaseURL: db.url, overrides: ["GATEHOUSE_KEK": kek])
        let built = try buildAuthServer(configuration: configuration, logger: AuthServerFixture.logger)
        return try await built.application.test(.router) { client in try await body(built, client) }
    }

    /// An access token as the token endpoint mints it, signed by the current key.
    static func signToken(_ built: BuiltAuthServer) async throws -> String {
        let env = built.environment
        return try env.tokens.accessToken(
            signer: try await env.keys.currentSigner(), subject: UUID(), clientID: "reseal-test", scope: ScopeSet("notes:read"),
            resource: env.configuration.resource.value, now: env.clock.now()).token
    }

    static func expectVerifies(_ token: String, jwks: Data) throws {
        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        let set = try JSONDecoder().decode(JWKS.self, from: jwks)
        let jwk = try #require(set.keys.first { $0.kid == parsed.header.kid }, "the signing key is no longer published")
        try parsed.verifySignature(with: try RSAKey(publicJWK: jwk))
    }
}

extension KeyEncryptionKey {
    static func generateBase64() -> String {
        Data((0..<32).map { _ in UInt8.random(in: 0...255) }).base64EncodedString()
    }
}

/// Key-encryption keys in files, as an operator keeps them (GATEHOUSE_KEK_FILE, --old-kek-file).
struct KEKFiles {
    let directory: URL
    private let names: [String: String]

    init(_ keys: [String: String]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-kek-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var names: [String: String] = [:]
        for (name, key) in keys {
            let file = directory.appendingPathComponent(name)
            try Data((key + "\n").utf8).write(to: file)
            names[name] = file.path
        }
        self.names = names
    }

    subscript(_ name: String) -> String { names[name] ?? "/nonexistent" }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}

extension AdminDatabase {
    /// The KEK fingerprint of every signing key, oldest first.
    func fingerprints() async throws -> [String] {
        try await withDatabase { database in
            try await database.query("SELECT kek_fingerprint FROM signing_keys ORDER BY signs_from, kid")
                .map { try $0.decode(String.self) }
        }
    }
}
