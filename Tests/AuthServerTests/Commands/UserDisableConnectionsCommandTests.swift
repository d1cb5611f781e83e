import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Issue 12: `users disable` deletes the user's connections in the disable's transaction and then
/// revokes them at each provider that has a `revocation_endpoint` (RFC 7009). Run through the
/// real `AuthServer` binary with the servers' config file and KEK, against a loopback revocation
/// endpoint that records what it got; a provider that cannot be reached only makes a warning.
@Suite struct UserDisableConnectionsCommandTests {
    /// The provider's revocation endpoint: records each form it is sent, and its Authorization.
    final class RevocationEndpoint: Sendable {
        struct Received: Sendable {
            let form: String
            let authorization: String?
        }

        let received = NIOLockedValueBox<[Received]>([])
        let port = NIOLockedValueBox(0)

        static func run<T: Sendable>(_ body: @escaping @Sendable (RevocationEndpoint) async throws -> T) async throws -> T {
            let endpoint = RevocationEndpoint()
            let router = Router()
            router.post("/revoke") { request, _ -> Response in
                let form = String(buffer: try await request.body.collect(upTo: 1 << 16))
                endpoint.received.withLockedValue { $0.append(Received(form: form, authorization: request.headers[.authorization])) }
                return Response(status: .ok)
            }
            var logger = Logger(label: "revocation-endpoint")
            logger.logLevel = .critical
            let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
            return try await app.test(.live) { client in
                endpoint.port.withLockedValue { $0 = client.port ?? 0 }
                return try await body(endpoint)
            }
        }
    }

    static func config(port: Int) -> String {
        """
        connections:
          - id: crm
            name: Acme CRM
            authorization_endpoint: http://127.0.0.1:\(port)/authorize
            token_endpoint: http://127.0.0.1:\(port)/token
            revocation_endpoint: http://127.0.0.1:\(port)/revoke
            client_id: gatehouse
            client_secret_env: DISABLE_TEST_CRM_SECRET
            allow_insecure_loopback: true
          - id: down
            name: Down Inc
            authorization_endpoint: http://127.0.0.1:1/authorize
            token_endpoint: http://127.0.0.1:1/token
            revocation_endpoint: http://127.0.0.1:1/revoke
            client_id: gatehouse
            allow_insecure_loopback: true
          - id: plain
            name: Plain
            authorization_endpoint: http://127.0.0.1:1/authorize
            token_endpoint: http://127.0.0.1:1/token
            client_id: gatehouse
            allow_insecure_loopback: true
        """
    }

    /// A user of `db` (made by the CLI) with tokens for all three connections.
    static func connectedUser(_ db: AdminDatabase) async throws -> (name: String, id: UUID) {
        let name = TestDatabase.uniqueName("disable-conn")
        let created = try await db.run("users", "create", name, "--password-stdin", stdin: "correct horse battery staple 42\n")
        #expect(created.status == 0, "\(created)")
        let seal = ConnectionTokenSeal(kek: try KeyEncryptionKey(base64: db.kek))
        let id = try await db.withDatabase { database in
            let rows = try await database.query("SELECT id FROM users WHERE username = \(name)")
            let id: UUID = try #require(rows.first).decode(UUID.self)
            let store = UserConnectionStore(database: database, seal: seal)
            for connection in ["crm", "down", "plain"] {
                try await store.save(userID: id, connectionID: connection, tokens: ConnectionTokens(
                    accessToken: "\(connection)-access-e41b", refreshToken: "\(connection)-refresh-e41b", expiresAt: nil, scopes: ""),
                    now: Date())
            }
            return id
        }
        return (name, id)
    }

    static func withConfig<T>(_ text: String, _ body: (String) async throws -> T) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-disable-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return try await body(path)
    }

    static func remaining(_ db: AdminDatabase, _ id: UUID) async throws -> Int {
        try await db.withDatabase { database in
            let rows = try await database.query("SELECT count(*) FROM user_connections WHERE user_id = \(id)")
            return try #require(rows.first).decode(Int.self)
        }
    }

    static func expectNoToken(in text: String) {
        for connection in ["crm", "down", "plain"] {
            #expect(!text.contains("\(connection)-access-e41b") && !text.contains("\(connection)-refresh-e41b"), "a token was printed: \(text)")
        }
        #expect(!text.contains("crm-client-secret"))
    }

    @Test("disable revokes at the provider (refresh token, then access token), warns for one that is down, prints no token")
    func revokesAtTheProvider() async throws {
        let db = try await AdminDatabase.make()
        try await RevocationEndpoint.run { endpoint in
            let user = try await Self.connectedUser(db)
            let result = try await Self.withConfig(Self.config(port: endpoint.port.withLockedValue { $0 })) { path in
                try await AdminProcess.run(["users", "disable", user.name], environment: [
                    "DATABASE_URL": db.url, "GATEHOUSE_CONFIG": path, "GATEHOUSE_KEK": db.kek,
                    "DISABLE_TEST_CRM_SECRET": "crm-client-secret",
                ])
            }
            #expect(result.status == 0, "\(result)")
            #expect(result.stdout.contains("disabled user \(user.name)"))
            #expect(result.stdout.contains("connection crm: deleted and revoked at the provider"), "\(result)")
            #expect(result.stdout.contains("connection plain: deleted (it has no revocation_endpoint)"), "\(result)")
            #expect(result.stderr.contains("warning: connection down: deleted, but not revoked at the provider (127.0.0.1 could not be reached"),
                    "\(result)")
            Self.expectNoToken(in: result.stdout + result.stderr)

            let received = endpoint.received.withLockedValue { $0 }
            #expect(received.map(\.form) == ["token=crm-refresh-e41b&token_type_hint=refresh_token",
                                             "token=crm-access-e41b&token_type_hint=access_token"])
            let basic = "Basic " + Data("gatehouse:crm-client-secret".utf8).base64EncodedString()
            #expect(received.allSatisfy { $0.authorization == basic })

            #expect(try await Self.remaining(db, user.id) == 0)
            let audit = try await db.run("audit", "list", "--kind", "connection_removed")
            #expect(audit.stdout.contains("connection=crm") && audit.stdout.contains("revoked=true"), "\(audit)")
            #expect(audit.stdout.contains("connection=plain") && audit.stdout.contains("revoked=no endpoint"), "\(audit)")
            #expect(audit.stdout.contains("connection=down") && audit.stdout.contains("reason=user disabled"), "\(audit)")
            Self.expectNoToken(in: audit.stdout)
            let disabled = try await db.run("audit", "list", "--kind", "user_disabled")
            #expect(disabled.stdout.contains(user.name))
        }
    }

    @Test("without the KEK the disable still happens and the connections are deleted; a warning says they were not revoked")
    func withoutTheKeyTheDisableStillHappens() async throws {
        let db = try await AdminDatabase.make()
        let user = try await Self.connectedUser(db)
        let result = try await Self.withConfig(Self.config(port: 1)) { path in
            try await AdminProcess.run(["users", "disable", user.name], environment: [
                "DATABASE_URL": db.url, "GATEHOUSE_CONFIG": path, "DISABLE_TEST_CRM_SECRET": "crm-client-secret",
            ])
        }
        #expect(result.status == 0, "\(result)")
        #expect(result.stderr.contains("warning: connection crm: deleted, but not revoked") && result.stderr.contains("GATEHOUSE_KEK_FILE"),
                "\(result)")
        Self.expectNoToken(in: result.stdout + result.stderr)
        #expect(try await Self.remaining(db, user.id) == 0)
        let users = try await db.run("users", "list")
        #expect(users.stdout.contains(user.name) && users.stdout.contains("disabled"), "\(users)")
    }
}
