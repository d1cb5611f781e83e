import Foundation
import Shared
import TestSupport
import Testing
@testable import ResourceServer

/// Issue 13 item 2: a `gh_pat_…` API key is accepted where an access token is, at its own resource
/// with its own scopes only, and refused (401 invalid_token) when revoked, expired, for another
/// resource, for a disabled user, or when the deployment switched keys off.
@Suite("API keys at the ResourceServer")
struct APIKeyTests {
    static func expectInvalidToken(_ reply: MCPTestClient.Reply, _ description: String,
                                   sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(reply.status == .unauthorized, sourceLocation: sourceLocation)
        #expect(reply.json["error"] as? String == "invalid_token", sourceLocation: sourceLocation)
        #expect(reply.challenge?.contains(#"error="invalid_token", error_description="\#(description)""#) == true,
                "\(reply.challenge ?? "no challenge")", sourceLocation: sourceLocation)
    }

    @Test("a key works at its resource with its scopes, as its user; 403 insufficient_scope for a scope it lacks")
    func worksWithItsScopes() async throws {
        let clock = TestClock()
        let key = try await APIKeyFixture.key(scope: "notes:read", expiresAt: clock.now.addingTimeInterval(86_400),
                                              clientLabel: "scripts")
        try await ResourceServerHarness.withServer(clock: clock) { _, client in
            let whoami = try await client.callTool("whoami", token: key.key)
            #expect(whoami.status == .ok)
            #expect(whoami.toolOutput["subject"] as? String == key.userID.uuidString.lowercased(), "\(whoami.body)")
            #expect(whoami.toolOutput["client_id"] as? String == "scripts")
            #expect(try await client.callTool("notes_list", token: key.key).status == .ok)
            let add = try await client.callTool("notes_add", ["text": "x"], token: key.key)
            #expect(add.status == .forbidden)
            #expect(add.json["error"] as? String == "insufficient_scope")
            #expect(add.challenge?.contains(#"error="insufficient_scope""#) == true)
        }
    }

    @Test("last_used_at is stamped on first use, and not again within the minute")
    func lastUsed() async throws {
        let clock = TestClock()
        let key = try await APIKeyFixture.key(scope: "notes:read", expiresAt: clock.now.addingTimeInterval(86_400))
        #expect(try await APIKeyFixture.lastUsed(key) == nil)
        try await ResourceServerHarness.withServer(clock: clock) { _, client in
            #expect(try await client.callTool("whoami", token: key.key).status == .ok)
            let first = try #require(try await APIKeyFixture.lastUsed(key))
            #expect(abs(first.timeIntervalSince(clock.now)) < 1)
            clock.advance(seconds: 30)
            #expect(try await client.callTool("whoami", token: key.key).status == .ok)
            #expect(try await APIKeyFixture.lastUsed(key) == first)
            clock.advance(seconds: 31)
            #expect(try await client.callTool("whoami", token: key.key).status == .ok)
            let second = try #require(try await APIKeyFixture.lastUsed(key))
            #expect(second > first)
        }
    }

    @Test("a revoked key is refused within a second, even after it was cached")
    func revoked() async throws {
        let clock = TestClock()
        let expiry = clock.now.addingTimeInterval(86_400)
        let key = try await APIKeyFixture.key(scope: "notes:read", expiresAt: expiry)
        try await ResourceServerHarness.withServer(clock: clock) { _, client in
            for _ in 0..<2 { #expect(try await client.callTool("whoami", token: key.key).status == .ok) }
            try await APIKeyFixture.revoke(key, expiresAt: expiry)
            let start = ContinuousClock.now
            var refused: MCPTestClient.Reply?
            while ContinuousClock.now - start < .seconds(10) {
                let reply = try await client.callTool("whoami", token: key.key)
                if reply.status != .ok { refused = reply; break }
                try await Task.sleep(for: .milliseconds(50))
            }
            let reply = try #require(refused)
            Self.expectInvalidToken(reply, "token revoked")
            // The feed polls every 250 ms; a loaded machine gets some slack, the cache's 5 s would not fit.
            #expect(ContinuousClock.now - start < .seconds(3))
        }
    }

    @Test("an expired key is refused (injected clock)")
    func expired() async throws {
        let clock = TestClock()
        let key = try await APIKeyFixture.key(scope: "notes:read", expiresAt: clock.now.addingTimeInterval(3_600))
        try await ResourceServerHarness.withServer(clock: clock) { _, client in
            #expect(try await client.callTool("whoami", token: key.key).status == .ok)
            clock.advance(seconds: 3_601)
            Self.expectInvalidToken(try await client.callTool("whoami", token: key.key), "API key expired")
        }
    }

    @Test("a key for another resource is refused; unknown and malformed keys too")
    func otherResourceAndUnknown() async throws {
        let clock = TestClock()
        let key = try await APIKeyFixture.key(resource: "http://localhost:8000/mcp/crm", scope: "crm:read",
                                              expiresAt: clock.now.addingTimeInterval(86_400))
        try await ResourceServerHarness.withServer(clock: clock) { _, client in
            Self.expectInvalidToken(try await client.callTool("whoami", token: key.key), "API key is not valid for this resource")
            Self.expectInvalidToken(try await client.callTool("whoami", token: APIKeySecret.generate()), "unknown API key")
            Self.expectInvalidToken(try await client.callTool("whoami", token: "gh_pat_short"), "unknown API key")
        }
    }

    @Test("with two configured resources, a key works only at its own")
    func configuredResources() async throws {
        let key = try await APIKeyFixture.key(resource: ConfiguredResourcesTests.notes, scope: "notes:read",
                                              expiresAt: Date().addingTimeInterval(86_400))
        try await ConfiguredResourcesTests.withServer { client, _ in
            let notes = try await ConfiguredResourcesTests.call(client, "/mcp/notes", tool: "whoami", token: key.key)
            #expect(notes.status == .ok)
            let crm = try await ConfiguredResourcesTests.list(client, "/mcp/crm", token: key.key)
            Self.expectInvalidToken(crm, "API key is not valid for this resource")
        }
    }

    @Test("a resource with identity.token takes no API keys (a key cannot be exchanged for an upstream token)")
    func tokenExchangeResource() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-pat-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("gatehouse.yaml").path, secret = directory.appendingPathComponent("secret").path
        try """
            resources:
              - path: /mcp/crm
                name: CRM
                scopes:
                  crm:read: Read the CRM
                tools: {"*": [crm:read]}
                upstream:
                  http:
                    url: http://127.0.0.1:1/mcp
                identity:
                  token: true
            """.write(toFile: config, atomically: true, encoding: .utf8)
        try String(repeating: "s", count: 40).write(toFile: secret, atomically: true, encoding: .utf8)
        let clock = TestClock()
        let key = try await APIKeyFixture.key(resource: ConfiguredResourcesTests.crm, scope: "crm:read",
                                              expiresAt: clock.now.addingTimeInterval(86_400))
        let overrides = ["GATEHOUSE_CONFIG": config, "GATEHOUSE_RS_CLIENT_ID": "gatehouse-resource-server",
                         "GATEHOUSE_RS_CLIENT_SECRET_FILE": secret]
        try await ResourceServerHarness.withServer(clock: clock, overrides: overrides) { _, client in
            let reply = try await ConfiguredResourcesTests.list(client, "/mcp/crm", token: key.key)
            Self.expectInvalidToken(reply, "API keys are not accepted here")
        }
    }

    @Test("a disabled user's key is refused")
    func disabledUser() async throws {
        let clock = TestClock()
        let user = try await APIKeyFixture.user()
        let key = try await APIKeyFixture.key(user: user, scope: "notes:read", expiresAt: clock.now.addingTimeInterval(86_400))
        try await APIKeyFixture.setDisabled(user, true)
        try await ResourceServerHarness.withServer(clock: clock) { _, client in
            Self.expectInvalidToken(try await client.callTool("whoami", token: key.key), "API key's user is disabled")
        }
    }

    @Test("GATEHOUSE_API_KEYS=false refuses every key as an invalid token")
    func switchedOff() async throws {
        let clock = TestClock()
        let key = try await APIKeyFixture.key(scope: "notes:read", expiresAt: clock.now.addingTimeInterval(86_400))
        try await ResourceServerHarness.withServer(clock: clock, overrides: ["GATEHOUSE_API_KEYS": "false"]) { _, client in
            Self.expectInvalidToken(try await client.callTool("whoami", token: key.key), "API keys are not accepted here")
        }
    }

    @Test("the key format: prefix, 43 base64url characters, hash only of well-formed keys")
    func format() {
        let key = APIKeySecret.generate()
        #expect(key.hasPrefix("gh_pat_") && key.count == 50)
        #expect(APIKeySecret.hash(key)?.count == 32)
        #expect(APIKeySecret.hash(key + "A") == nil)
        #expect(APIKeySecret.hash("gh_pat_" + String(repeating: "!", count: 43)) == nil)
        #expect(APIKeySecret.hash(String(key.dropFirst(7))) == nil)
    }
}
