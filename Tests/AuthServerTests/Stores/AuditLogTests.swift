import Foundation
import Logging
import Shared
import Testing
import TestSupport
@testable import AuthServer

@Suite struct AuditLogTests {
    @Test func recordsAndListsEveryField() async throws {
        try await TestDatabase.withDatabase { db in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let name = TestDatabase.uniqueName("audit")
            await audit.record(.loginFailed, outcome: .failure, username: name, clientID: "client-1",
                               remoteAddress: "192.0.2.7", detail: ["reason": "bad_password"])
            let event = try #require(try await audit.list(limit: 1000, kind: .loginFailed).first { $0.username == name })
            #expect(event.kind == .loginFailed)
            #expect(event.outcome == .failure)
            #expect(event.clientID == "client-1")
            #expect(event.remoteAddress == "192.0.2.7")
            #expect(event.detail == ["reason": "bad_password"])
            #expect(abs(event.occurredAt.timeIntervalSinceNow) < 60)
        }
    }

    @Test func everyKindRoundTrips() async throws {
        try await TestDatabase.withDatabase { db in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let name = TestDatabase.uniqueName("kinds")
            for kind in AuditEvent.Kind.allCases { await audit.record(kind, username: name) }
            for kind in AuditEvent.Kind.allCases {
                let events = try await audit.list(limit: 1000, kind: kind)
                #expect(events.contains { $0.username == name && $0.kind == kind }, "\(kind)")
            }
        }
    }

    @Test func listIsNewestFirstAndLimited() async throws {
        try await TestDatabase.withDatabase { db in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let events = try await audit.list(limit: 3, kind: nil)
            #expect(events.count <= 3)
            #expect(events.map(\.occurredAt) == events.map(\.occurredAt).sorted(by: >))
        }
    }

    /// The transactional variant commits or rolls back with the caller's action.
    @Test func connectionVariantRollsBackWithTheTransaction() async throws {
        try await TestDatabase.withDatabase { db in
            let name = TestDatabase.uniqueName("rollback")
            struct Abort: Error {}
            await #expect(throws: (any Error).self) {
                try await db.transaction { connection in
                    try await AuditLog.record(.userDisabled, username: name, connection: connection)
                    throw Abort()
                }
            }
            try await db.transaction { connection in
                try await AuditLog.record(.userEnabled, username: name, detail: ["k": "v"], connection: connection)
            }
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            #expect(try await audit.list(limit: 1000, kind: .userDisabled).contains { $0.username == name } == false)
            #expect(try await audit.list(limit: 1000, kind: .userEnabled).contains { $0.username == name && $0.detail == ["k": "v"] })
        }
    }

    /// A username typed at the login form is attacker-controlled: it is stored clipped.
    @Test func longFieldsAreClipped() async throws {
        try await TestDatabase.withDatabase { db in
            let audit = AuditLog(database: db, logger: TestDatabase.logger)
            let name = TestDatabase.uniqueName("long") + String(repeating: "x", count: 5000)
            await audit.record(.loginFailed, outcome: .failure, username: name, detail: ["note": name])
            let prefix = String(name.prefix(AuditLog.maxFieldLength))
            let event = try #require(try await audit.list(limit: 1000, kind: .loginFailed).first { $0.username == prefix })
            #expect(event.detail["note"] == prefix)
        }
    }

    /// Auditing must never break the action it describes.
    @Test func recordSwallowsDatabaseFailures() async throws {
        var config = try DatabaseConfiguration(url: "postgres://nobody@127.0.0.1:1/none")
        config.queryTimeout = .milliseconds(300)
        var quiet = Logger(label: "test.unreachable")
        quiet.logLevel = .critical
        let unreachable = try Database(configuration: config, logger: quiet)
        // The pool is never run, so the query can only time out.
        await AuditLog(database: unreachable, logger: quiet).record(.login, username: "x")
    }
}
