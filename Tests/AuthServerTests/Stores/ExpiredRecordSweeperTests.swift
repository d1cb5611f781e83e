import Foundation
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

@Suite("ExpiredRecordSweeper")
struct ExpiredRecordSweeperTests {
    @Test("expired rows go, live ones and revocations still inside the resource servers' leeway stay")
    func sweepsOnlyWhatCanNoLongerMatter() async throws {
        try await TestDatabase.withEmptyDatabase { database in
            let longAgo = Date().addingTimeInterval(-3 * 86400)
            let justExpired = Date().addingTimeInterval(-60)
            let later = Date().addingTimeInterval(3600)
            for (jti, expiry) in [("old", longAgo), ("recent", justExpired), ("live", later)] {
                _ = try await database.query("INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (\(jti), \(expiry))")
                _ = try await database.query(
                    "INSERT INTO access_tokens (jti, client_id, expires_at) VALUES (\(jti), 'c', \(expiry))")
            }
            _ = try await database.query("""
                INSERT INTO audit_events (kind, occurred_at) VALUES ('login', now() - interval '400 days'), ('login', now())
                """)
            _ = try await database.query("""
                INSERT INTO login_attempts (account, remote_address, attempted_at)
                VALUES ('a', 'x', now() - interval '2 days'), ('a', 'x', now())
                """)
            // Rate-limit windows: the longest is an hour, so one that started three hours ago has ended.
            _ = try await database.query("""
                INSERT INTO rate_limit_counters (bucket, window_start, count)
                VALUES ('token:c', now() - interval '3 hours', 5), ('token:c', date_trunc('minute', now()), 1)
                """)
            let sweeper = ExpiredRecordSweeper(database: database, logger: TestDatabase.logger, interval: .seconds(600),
                                               auditRetentionDays: 365)
            let deleted = await sweeper.sweep()
            #expect(deleted["revoked_access_tokens"] == 1 && deleted["access_tokens"] == 1 && deleted["audit_events"] == 1)
            #expect(deleted["login_attempts"] == 1 && deleted["rate_limit_counters"] == 1)
            let kept = try await database.query("SELECT jti FROM revoked_access_tokens ORDER BY jti").map { try $0.decode(String.self) }
            #expect(kept == ["live", "recent"])
            #expect(await sweeper.sweep().values.allSatisfy { $0 == 0 })
        }
    }
}
