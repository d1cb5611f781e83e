import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// `grant_type=refresh_token` (OAuth 2.1 §4.3, RFC 9700 §4.14.2) through `POST /token`.
@Suite(.serialized) struct RefreshTokenGrantTests {
    typealias Refused = AuthorizationCodeGrantTests

    @Test("OAuth 2.1 §4.3.1: a refresh rotates the token; the answer has the same shape as the code's, over real HTTP")
    func rotation() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)
            let reply = try await server.refresh(first.refreshToken, client: client)
            #expect(reply.status == .ok)
            let second = IssuedTokens(reply: reply)
            #expect(second.refreshToken != first.refreshToken && !second.refreshToken.isEmpty)
            #expect(second.accessToken != first.accessToken && second.jti != first.jti)
            #expect(second.scope == "notes:read notes:write")
            #expect(reply.json["token_type"] as? String == "Bearer" && reply.json["expires_in"] as? Int == 3600)
            #expect(reply.headers[.cacheControl] == "no-store" && reply.headers[.pragma] == "no-cache")
            // The successor works.
            #expect(try await server.refresh(second.refreshToken, client: client).status == .ok)
        }
    }

    @Test("Within the grace window, the same refresh token again returns the identical answer")
    func replayWithinGraceIsIdempotent() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)
            let answer = try await server.refresh(first.refreshToken, client: client)
            server.clock.advance(seconds: 10)
            let again = try await server.refresh(first.refreshToken, client: client)
            #expect(answer.status == .ok && again.status == .ok)
            #expect(again.body == answer.body)
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
        }
    }

    @Test("RFC 9700 §4.14.2: reuse after the successor was used revokes the whole family")
    func reuseAfterSuccessorRevokesFamily() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)
            let second = IssuedTokens(reply: try await server.refresh(first.refreshToken, client: client))
            let third = IssuedTokens(reply: try await server.refresh(second.refreshToken, client: client))
            #expect(third.reply.status == .ok)
            Refused.expectRefused(try await server.refresh(first.refreshToken, client: client), "invalid_grant")
            #expect(try await server.revokedTokenFamilies(of: client.id) == 1)
            Refused.expectRefused(try await server.refresh(third.refreshToken, client: client), "invalid_grant", "successor")
            for tokens in [first, second, third] { #expect(try await server.isRevoked(jti: tokens.jti)) }
        }
    }

    @Test("RFC 9700 §4.14.2: reuse after the grace window revokes the family even if the successor is unused")
    func reuseAfterGraceRevokesFamily() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let first = try await server.issueTokens(client, browser: &browser)
            let second = IssuedTokens(reply: try await server.refresh(first.refreshToken, client: client))
            server.clock.advance(seconds: 31)
            Refused.expectRefused(try await server.refresh(first.refreshToken, client: client), "invalid_grant")
            Refused.expectRefused(try await server.refresh(second.refreshToken, client: client), "invalid_grant", "successor")
        }
    }

    @Test("RFC 6749 §6: a refresh may narrow the scope but not widen it")
    func scopeNarrowingAndWidening() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let full = try await server.issueTokens(client, browser: &browser)
            let narrowed = try await server.refresh(full.refreshToken, client: client, scope: "notes:read")
            #expect(narrowed.status == .ok && narrowed.json["scope"] as? String == "notes:read")
            // The family keeps the original grant: the next refresh may ask for all of it again.
            let back = try await server.refresh(IssuedTokens(reply: narrowed).refreshToken, client: client)
            #expect(back.status == .ok && back.json["scope"] as? String == "notes:read notes:write")

            let readOnly = try await server.issueTokens(client, browser: &browser, changes: ["scope": "notes:read"])
            let wider = try await server.refresh(readOnly.refreshToken, client: client, scope: "notes:read notes:write")
            Refused.expectRefused(wider, "invalid_scope")
            // A refused widening does not use the token up.
            #expect(try await server.refresh(readOnly.refreshToken, client: client).status == .ok)
        }
    }

    @Test("An expired refresh token, or one of another client, is invalid_grant")
    func expiredAndForeignTokens() async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_REFRESH_TOKEN_TTL": "3600"]) { server in
            let client = try await server.registerClient()
            let thief = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            Refused.expectRefused(try await server.refresh(tokens.refreshToken, client: thief), "invalid_grant", "another client")
            // Presenting it as another client changed nothing.
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
            Refused.expectRefused(try await server.refresh("not-a-token", client: client), "invalid_grant", "unknown")
            let old = try await server.issueTokens(client, browser: &browser)
            server.clock.advance(seconds: 3601)
            Refused.expectRefused(try await server.refresh(old.refreshToken, client: client), "invalid_grant", "expired")
        }
    }

    @Test("The Swift SDK registers without refresh_token in grant_types and may still refresh")
    func swiftSDKClientMayRefresh() async throws {
        try await TestAuthServer.run { server in
            let body = try String(contentsOfFile: "\(RegistrationEndpointTests.recordedClients)/swift-sdk.json", encoding: .utf8)
            let registered = try await server.postJSON("/register", body)
            #expect(registered.json["grant_types"] as? [String] == ["authorization_code"])
            let client = RegisteredClient(id: try #require(registered.json["client_id"] as? String), secret: nil,
                                          redirectURI: "http://127.0.0.1:53123/callback", authMethod: "none")
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            #expect(!tokens.refreshToken.isEmpty)
            #expect(try await server.refresh(tokens.refreshToken, client: client).status == .ok)
        }
    }

    @Test("Twenty concurrent refreshes of one token, token limit on: all 200 with one answer, one live successor, one unit of the limit")
    func concurrentRefreshStormTakesOneUnit() async throws {
        try await TestAuthServer.run(.live, overrides: ["GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "1000"]) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await server.postFormOnNewConnection("/token", [
                            ("grant_type", "refresh_token"), ("refresh_token", tokens.refreshToken), ("client_id", client.id),
                        ])
                    }
                }
                return try await group.reduce(into: [Reply]()) { $0.append($1) }
            }
            #expect(Set(replies.map(\.status)) == [.ok], "\(replies.map(\.body).prefix(3))")
            #expect(Set(replies.map(\.body)).count == 1)
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
            #expect(try await server.count("""
                SELECT count(*)::int FROM refresh_tokens r JOIN token_families f ON f.id = r.family_id
                WHERE f.client_id = \(client.id) AND r.rotated_at IS NULL
                """) == 1)
            // Replays are the answer already given, not new requests: only the rotation counted.
            #expect(try await server.count(
                "SELECT COALESCE(sum(count), 0)::int FROM rate_limit_counters WHERE bucket = \("token:" + client.id)") == 2)
        }
    }

    @Test("Two concurrent refreshes of one token both succeed with the same answer (two HTTP connections, real PostgreSQL)")
    func concurrentRefreshesAgree() async throws {
        try await TestAuthServer.run(.live) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            for _ in 0..<3 {
                let tokens = try await server.issueTokens(client, browser: &browser)
                let replies = try await withThrowingTaskGroup(of: Reply.self) { group in
                    for _ in 0..<2 {
                        group.addTask {
                            try await server.postFormOnNewConnection("/token", [
                                ("grant_type", "refresh_token"), ("refresh_token", tokens.refreshToken), ("client_id", client.id),
                            ])
                        }
                    }
                    return try await group.reduce(into: [Reply]()) { $0.append($1) }
                }
                #expect(replies.map(\.status) == [.ok, .ok], "\(replies.map(\.body))")
                #expect(replies[0].body == replies[1].body)
            }
            #expect(try await server.revokedTokenFamilies(of: client.id) == 0)
        }
    }
}
