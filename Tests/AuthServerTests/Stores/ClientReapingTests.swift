import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// Reaping of unused dynamic clients (issue 13, item 3): the sweeper deletes a dynamically
/// registered client that is old, unused and holds no live grant, and nothing else. Rows are
/// back-dated against the database clock, which is the clock the sweeper reads.
@Suite("ClientReaping")
struct ClientReapingTests {
    static let day: TimeInterval = 86400

    /// A fresh, migrated database for `body`.
    static func withDatabase(_ body: @escaping @Sendable (Database) async throws -> Void) async throws {
        try await TestDatabase.withEmptyDatabase { database in
            do { try await body(database) } catch { Issue.record("\(String(reflecting: error))"); throw error }
        }
    }

    static func insertClient(_ database: Database, _ clientID: String, kind: String = "dynamic", ageDays: Double) async throws {
        let client = Client(
            clientID: clientID, authMethod: .none, secretHash: nil, name: "Reap \(clientID)", clientURI: nil,
            redirectURIs: ["http://127.0.0.1:33418/callback"], grantTypes: ["authorization_code", "refresh_token"],
            scope: ScopeSet("notes:read"), applicationType: "native", registrationKind: kind,
            createdAt: Date().addingTimeInterval(-ageDays * day))
        try await ClientStore(database: database).insert(client)
    }

    /// A token family with one refresh token, issued `ageDays` ago and expiring `expiresInDays` from now.
    @discardableResult
    static func insertRefreshToken(_ database: Database, client clientID: String, ageDays: Double, expiresInDays: Double,
                                   revoked: Bool = false) async throws -> UUID {
        let family = UUID()
        let issued = Date().addingTimeInterval(-ageDays * day)
        let expires = Date().addingTimeInterval(expiresInDays * day)
        let revokedAt: Date? = revoked ? issued : nil
        _ = try await database.query("""
            INSERT INTO token_families (id, client_id, user_id, scope, resource, created_at, revoked_at)
            VALUES (\(family), \(clientID), \(UUID()), 'notes:read', 'https://mcp.example/', \(issued), \(revokedAt))
            """)
        let hash = UUID().uuidString
        _ = try await database.query("""
            INSERT INTO refresh_tokens (token_hash, family_id, scope, created_at, expires_at)
            VALUES (sha256(convert_to(\(hash), 'UTF8')), \(family), 'notes:read', \(issued), \(expires))
            """)
        return family
    }

    static func insertCode(_ database: Database, client clientID: String, ageDays: Double, expiresInSeconds: Double) async throws {
        let hash = UUID().uuidString
        let issued = Date().addingTimeInterval(-ageDays * day)
        let expires = Date().addingTimeInterval(expiresInSeconds)
        _ = try await database.query("""
            INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, code_challenge, scope, resource,
                                             created_at, expires_at)
            VALUES (sha256(convert_to(\(hash), 'UTF8')), \(clientID), \(UUID()), 'http://127.0.0.1:33418/callback', 'x', 'notes:read',
                    'https://mcp.example/', \(issued), \(expires))
            """)
    }

    static func isDeleted(_ database: Database, _ clientID: String) async throws -> Bool {
        try await database.query("SELECT deleted_at IS NOT NULL FROM clients WHERE client_id = \(clientID)")
            .first?.decode(Bool.self) ?? false
    }

    @Test("an old unused dynamic client is reaped; live grants, recent use and other kinds keep theirs")
    func reapsOnlyOldUnusedDynamicClients() async throws {
        try await Self.withDatabase { database in
            // Reaped: old, nothing issued, or only grants that are dead and older than the window.
            try await Self.insertClient(database, "old-unused", ageDays: 40)
            try await Self.insertClient(database, "old-expired-grant", ageDays: 40)
            let deadFamily = try await Self.insertRefreshToken(database, client: "old-expired-grant", ageDays: 35, expiresInDays: -5)
            try await Self.insertClient(database, "old-revoked-family", ageDays: 40)
            try await Self.insertRefreshToken(database, client: "old-revoked-family", ageDays: 35, expiresInDays: 20, revoked: true)
            // Kept.
            try await Self.insertClient(database, "old-live-refresh", ageDays: 400)
            try await Self.insertRefreshToken(database, client: "old-live-refresh", ageDays: 300, expiresInDays: 5)
            try await Self.insertClient(database, "old-live-code", ageDays: 40)
            try await Self.insertCode(database, client: "old-live-code", ageDays: 31, expiresInSeconds: 60)
            try await Self.insertClient(database, "old-recently-used", ageDays: 40)
            try await Self.insertRefreshToken(database, client: "old-recently-used", ageDays: 2, expiresInDays: -1)
            try await Self.insertClient(database, "old-recent-access-token", ageDays: 40)
            _ = try await database.query("""
                INSERT INTO access_tokens (jti, client_id, expires_at, created_at)
                VALUES ('jti-recent', 'old-recent-access-token', now() - interval '1 day', now() - interval '1 day')
                """)
            try await Self.insertClient(database, "old-recent-token-request", ageDays: 40)
            _ = try await database.query(
                "UPDATE clients SET last_used_at = now() - interval '2 days' WHERE client_id = 'old-recent-token-request'")
            try await Self.insertClient(database, "young", ageDays: 5)
            try await Self.insertClient(database, "old-preregistered", kind: Client.preregisteredKind, ageDays: 400)
            try await Self.insertClient(database, "old-resource-server", kind: Client.resourceServerKind, ageDays: 400)
            try await Self.insertClient(database, "https://app.example/client.json", kind: Client.metadataDocumentKind, ageDays: 400)

            let store = ClientStore(database: database)
            let expected = ["old-unused", "old-expired-grant", "old-revoked-family"]
            let candidates = try await store.reapCandidates(unusedForDays: 30)
            #expect(Set(candidates.map(\.clientID)) == Set(expected))
            #expect(candidates.first { $0.clientID == "old-unused" }?.lastUsedAt == nil)
            #expect(candidates.first { $0.clientID == "old-expired-grant" }?.lastUsedAt != nil)
            // Listing deletes nothing.
            #expect(try await Self.isDeleted(database, "old-unused") == false)

            let reaped = try await store.reap(unusedForDays: 30)
            #expect(Set(reaped) == Set(expected))
            for clientID in expected {
                #expect(try await Self.isDeleted(database, clientID))
                #expect(try await store.find(clientID) == nil)
            }
            for kept in ["old-live-refresh", "old-live-code", "old-recently-used", "old-recent-access-token",
                         "old-recent-token-request", "young",
                         "old-preregistered", "old-resource-server", "https://app.example/client.json"] {
                #expect(try await Self.isDeleted(database, kept) == false, "\(kept) must stay")
            }
            // The same soft delete `clients delete` does: every family of the client revoked.
            let revoked = try await database.query("SELECT revoked_reason FROM token_families WHERE id = \(deadFamily)")
                .first?.decode(String?.self)
            #expect(revoked == "client reaped")
            // One audit event for the whole pass, with the count and no client secrets.
            let events = try await AuditLog(database: database, logger: TestDatabase.logger).list(limit: 10, kind: .clientsReaped)
            #expect(events.count == 1)
            #expect(events.first?.detail["count"] == "3" && events.first?.detail["unused_days"] == "30")

            #expect(try await store.reap(unusedForDays: 30).isEmpty)
            #expect(try await AuditLog(database: database, logger: TestDatabase.logger).list(limit: 10, kind: .clientsReaped).count == 1)
            // A shorter window reaches the recently used and the young ones, never the live ones or other kinds.
            #expect(Set(try await store.reap(unusedForDays: 1)) == ["old-recently-used", "old-recent-access-token", "old-recent-token-request", "young"])
        }
    }

    @Test("a successful /token request stamps last_used_at, at most once an hour per client")
    func tokenEndpointStampsUse() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            let lastUsed: @Sendable () async throws -> Date? = {
                try await server.database.query("SELECT last_used_at FROM clients WHERE client_id = \(client.id)")
                    .first?.decode(Date?.self)
            }
            #expect(try await lastUsed() == nil)
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let first = try #require(try await lastUsed())
            // Within the hour a refresh writes nothing; after it, the stamp moves.
            _ = try await server.database.query(
                "UPDATE clients SET last_used_at = now() - interval '3 hours' WHERE client_id = \(client.id)")
            let refreshed = try await server.refresh(tokens.refreshToken, client: client)
            #expect(refreshed.status == .ok, "\(refreshed.body)")
            let stale = try #require(try await lastUsed())
            #expect(stale < first.addingTimeInterval(-3600))
            server.clock.advance(seconds: 3601)
            let again = try await server.refresh(try #require(refreshed.json["refresh_token"] as? String), client: client)
            #expect(again.status == .ok, "\(again.body)")
            #expect(try #require(try await lastUsed()) >= first)
            // A failed request is no use: an unknown grant leaves the stamp alone.
            _ = try await server.database.query("UPDATE clients SET last_used_at = NULL WHERE client_id = \(client.id)")
            server.clock.advance(seconds: 3601)
            let bad = try await server.tokenRequest([("grant_type", "refresh_token"), ("refresh_token", "nope")], client: client)
            #expect(bad.status == .badRequest && bad.json["error"] as? String == "invalid_grant", "\(bad.body)")
            #expect(try await lastUsed() == nil)
        }
    }

    @Test("the sweeper reaps with GATEHOUSE_CLIENT_REAP_DAYS, not at 0, and refreshes gatehouse_clients{kind}")
    func sweeperReapsAndCountsClients() async throws {
        Observability.bootstrap(format: .text, level: .error)
        try await Self.withDatabase { database in
            try await Self.insertClient(database, "old-unused", ageDays: 40)
            try await Self.insertClient(database, "young", ageDays: 1)
            try await Self.insertClient(database, "old-preregistered", kind: Client.preregisteredKind, ageDays: 400)
            try await Self.insertClient(database, "old-resource-server", kind: Client.resourceServerKind, ageDays: 400)

            let off = ExpiredRecordSweeper(database: database, logger: TestDatabase.logger, interval: .seconds(600),
                                           auditRetentionDays: 365, clientReapDays: 0)
            #expect(await off.sweep()["clients"] == nil)
            #expect(try await Self.isDeleted(database, "old-unused") == false)

            let sweeper = ExpiredRecordSweeper(database: database, logger: TestDatabase.logger, interval: .seconds(600),
                                               auditRetentionDays: 365, clientReapDays: 30)
            #expect(await sweeper.sweep()["clients"] == 1)
            #expect(try await Self.isDeleted(database, "old-unused"))
            #expect(await sweeper.sweep()["clients"] == 0)

            let counts = try await ClientStore(database: database).countsByKind()
            #expect(counts == ["dynamic": 1, "preregistered": 1, "resource_server": 1, "metadata_document": 0])
            let metrics = Observability.metricsText()
            for kind in ClientStore.knownKinds {
                #expect(metrics.contains("gatehouse_clients{kind=\"\(kind)\"}"), "\(kind) missing in metrics")
            }
        }
    }
}
