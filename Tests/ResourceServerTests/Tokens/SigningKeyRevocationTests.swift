import Foundation
import Shared
import TestSupport
import Testing
@testable import ResourceServer

/// Issue 9 C.7: after `AuthServer keys retire <kid> --immediately`, every resource server stops
/// accepting tokens signed with that key within seconds, validations it cached included. The
/// AuthServer writes the kid to `revoked_signing_keys` (and NOTIFYs); this writes the row the same
/// way, without the NOTIFY, so only the poll can carry it.
@Suite("Retired signing keys")
struct SigningKeyRevocationTests {
    /// A key of this test alone: the database is shared, and the suite's usual keys must stay valid.
    static let compromised = try! TestKeys.fresh()

    @Test("a cached token signed by a retired key is refused once the row lands; other keys' tokens still work")
    func retiredKeyRefused() async throws {
        let clock = TestClock()
        let kid = try Self.compromised.thumbprint()
        try await ResourceServerHarness.withServer(clock: clock, publishing: [TestKeys.primary, Self.compromised]) { authorizationServer, client in
            var stolen = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            stolen.key = Self.compromised
            stolen.keyID = kid
            let (stolenToken, goodToken) = (stolen.token(), TokenMinter(issuer: authorizationServer.issuer, clock: clock).token())
            stolen.jti = UUID().uuidString
            let neverCached = stolen.token()
            // Twice each: the second call is a cache hit.
            for _ in 0..<2 {
                #expect(try await client.callTool("whoami", token: stolenToken).status == .ok)
                #expect(try await client.callTool("whoami", token: goodToken).status == .ok)
            }
            try await TestDatabase.withDatabase { database in
                _ = try await database.query("INSERT INTO revoked_signing_keys (kid) VALUES (\(kid)) ON CONFLICT DO NOTHING")
            }
            let start = ContinuousClock.now
            var refused: MCPTestClient.Reply?
            while ContinuousClock.now - start < .seconds(10) {
                let reply = try await client.callTool("whoami", token: stolenToken)
                if reply.status == .unauthorized { refused = reply; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            guard let reply = refused else {
                Issue.record("a token of the retired key was still accepted after 10 s")
                return
            }
            #expect(reply.json["error"] as? String == "invalid_token")
            #expect(reply.challenge?.contains(#"error="invalid_token", error_description="signing key revoked""#) == true)
            // A new token from the same key, never cached, is refused too; the other key is unaffected.
            #expect(try await client.callTool("whoami", token: neverCached).status == .unauthorized)
            #expect(try await client.callTool("whoami", token: goodToken).status == .ok)
        }
    }

    static let announced = try! TestKeys.fresh()

    @Test("a key=kid NOTIFY (what the AuthServer sends with the row) refuses the key's cached tokens at once")
    func announcedKeyRefused() async throws {
        let clock = TestClock()
        let kid = try Self.announced.thumbprint()
        try await ResourceServerHarness.withServer(clock: clock, publishing: [TestKeys.primary, Self.announced]) { authorizationServer, client in
            var minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            minter.key = Self.announced
            minter.keyID = kid
            let token = minter.token()
            #expect(try await client.callTool("whoami", token: token).status == .ok)
            // Give the LISTEN connection a moment to be up, then announce without any table row.
            try await Task.sleep(for: .milliseconds(300))
            try await TestDatabase.withDatabase { database in
                _ = try await database.query("SELECT pg_notify('gatehouse_revocations', \("key=" + kid))")
            }
            let start = ContinuousClock.now
            var status = try await client.callTool("whoami", token: token).status
            while status == .ok, ContinuousClock.now - start < .seconds(10) {
                try await Task.sleep(for: .milliseconds(20))
                status = try await client.callTool("whoami", token: token).status
            }
            #expect(status == .unauthorized)
        }
    }
}
