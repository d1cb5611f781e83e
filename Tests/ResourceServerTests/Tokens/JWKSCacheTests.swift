import Foundation
import TestSupport
import Shared
import Testing
@testable import ResourceServer

/// The key cache: rotation is picked up, garbage `kid`s cannot cause a fetch storm, and an
/// authorization server outage does not stop token validation.
@Suite("JWKS cache")
struct JWKSCacheTests {
    @Test("unknown kids refetch at most once per 10 s; a rotated-in key is found after that")
    func unknownKidRateLimited() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            #expect(try await client.callTool("whoami", token: minter.token()).status == .ok)
            let baseline = authorizationServer.jwksFetchCount
            #expect(baseline >= 1)

            // The AS rotates in a new key; a token signed with it arrives within 10 s of the last fetch.
            authorizationServer.publish([TestKeys.primary, TestKeys.secondary])
            var rotated = minter
            rotated.key = TestKeys.secondary
            rotated.keyID = TestKeys.secondaryKID
            rotated.jti = UUID().uuidString

            // A flood of made-up kids: no fetch at all inside the window.
            for index in 0..<20 {
                var garbage = minter
                garbage.keyID = "garbage-\(index)"
                #expect(try await client.callTool("whoami", token: garbage.token()).status == .unauthorized)
            }
            #expect(try await client.callTool("whoami", token: rotated.token()).status == .unauthorized)
            #expect(authorizationServer.jwksFetchCount == baseline)

            // After 10 s the next unknown kid may fetch once, which finds the rotated key.
            clock.advance(seconds: 11)
            #expect(try await client.callTool("whoami", token: rotated.token()).status == .ok)
            #expect(authorizationServer.jwksFetchCount == baseline + 1)
            for index in 0..<20 {
                var garbage = minter
                garbage.keyID = "more-garbage-\(index)"
                _ = try await client.callTool("whoami", token: garbage.token())
            }
            #expect(authorizationServer.jwksFetchCount == baseline + 1)
        }
    }

    @Test("validation keeps working from the cache while the AS is down, even past max-age")
    func worksWhileAuthorizationServerIsDown() async throws {
        let clock = TestClock()
        try await StandInAuthorizationServer.withRunning { authorizationServer in
            let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            try await ResourceServerHarness.withServer(authorizationServer: authorizationServer, clock: clock) {
                (client: MCPTestClient) async throws in
                #expect(try await client.callTool("whoami", token: minter.token()).status == .ok)
                await authorizationServer.stop()
                clock.advance(seconds: 400)  // past the JWKS max-age of 300 s
                var fresh = minter
                fresh.issuedAt = clock.seconds
                fresh.jti = UUID().uuidString  // not in the validated-token cache: needs the RSA key
                for _ in 0..<3 {
                    #expect(try await client.callTool("whoami", token: fresh.token()).status == .ok)
                }
            }
        }
    }

    @Test("Cache-Control max-age is honoured and clamped")
    func maxAgeParsing() {
        #expect(JWKSFetcher.maxAge(cacheControl: "public, max-age=300") == 300)
        #expect(JWKSFetcher.maxAge(cacheControl: nil) == JWKSFetcher.defaultMaxAge)
        #expect(JWKSFetcher.maxAge(cacheControl: "max-age=1") == 10)
        #expect(JWKSFetcher.maxAge(cacheControl: "max-age=99999999") == 86_400)
        #expect(JWKSFetcher.maxAge(cacheControl: "no-store") == 10)
    }

    @Test("metadata URL follows RFC 8414 §3 path insertion")
    func metadataURL() {
        let fetcher = JWKSFetcher(issuer: "https://as.example.com/tenant", httpClient: .shared)
        #expect(fetcher.metadataURL == "https://as.example.com/.well-known/oauth-authorization-server/tenant")
        #expect(JWKSFetcher(issuer: "http://localhost:9000", httpClient: .shared).metadataURL
                == "http://localhost:9000/.well-known/oauth-authorization-server")
    }
}
