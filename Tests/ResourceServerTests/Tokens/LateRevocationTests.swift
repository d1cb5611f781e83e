import Foundation
import PostgresNIO
import Shared
import TestSupport
import Testing
@testable import ResourceServer

/// Issue 9 C.6: "No revocation may ever be lost." The feed used to forget a gap in the sequence
/// after 10 s or when it lay more than 1,000 values below the next row, so a revocation whose
/// transaction committed late, with its NOTIFY missed, was never seen.
@Suite("Late-committed revocations")
struct LateRevocationTests {
    @Test("a revocation committed after >1000 later values and >10 s (simulated) of polling, without NOTIFY, is refused")
    func lateCommitIsNeverLost() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let late = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            var markerMinter = late
            markerMinter.jti = UUID().uuidString
            let marker = markerMinter
            let (lateToken, markerToken) = (late.token(), marker.token())
            let expiresAt = clock.now.addingTimeInterval(300)
            #expect(try await client.callTool("whoami", token: lateToken).status == .ok)
            try await TestDatabase.withDatabase { database in
                try await database.client.withConnection { connection in
                    // The late transaction takes its sequence value first and commits last.
                    _ = try await connection.query("BEGIN", logger: connection.logger)
                    _ = try await connection.query(
                        "INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (\(late.jti), \(expiresAt))",
                        logger: connection.logger)
                    // Over a thousand values burnt (rollbacks, ON CONFLICT DO NOTHING), then over a
                    // thousand rows committed above them, the marker last.
                    _ = try await database.query(
                        "SELECT nextval(pg_get_serial_sequence('revoked_access_tokens', 'seq')) FROM generate_series(1, 1500)")
                    let later = (0..<1_100).map { _ in UUID().uuidString } + [marker.jti]
                    _ = try await database.query(
                        "INSERT INTO revoked_access_tokens (jti, expires_at) SELECT unnest(\(later)::text[]), \(expiresAt)")
                    #expect(try await Self.refusedWithin(.seconds(3), client: client, token: markerToken),
                            "the feed never read the later rows")
                    // The feed polls on past them for a simulated minute.
                    for _ in 0..<4 {
                        clock.advance(seconds: 15)
                        try await Task.sleep(for: .milliseconds(300))
                    }
                    #expect(try await client.callTool("whoami", token: lateToken).status == .ok)
                    // Committed without NOTIFY: only the poll can find it.
                    _ = try await connection.query("COMMIT", logger: connection.logger)
                }
            }
            #expect(try await Self.refusedWithin(.seconds(10), client: client, token: lateToken),
                    "the late revocation was lost")
        }
    }

    /// Polls the RS until it refuses `token` as revoked, for at most `limit`.
    static func refusedWithin(_ limit: Duration, client: MCPTestClient, token: String) async throws -> Bool {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            let reply = try await client.callTool("whoami", token: token)
            if reply.status == .unauthorized {
                #expect(reply.challenge?.contains(#"error="invalid_token""#) == true)
                return true
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }
}
