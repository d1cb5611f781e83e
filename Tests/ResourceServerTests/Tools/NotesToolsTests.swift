import Foundation
import TestSupport
import HTTPTypes
import Testing
@testable import ResourceServer

/// The notes tools over real MCP calls: per-subject isolation, scopes, and argument errors.
@Suite("Notes tools")
struct NotesToolsTests {
    @Test("two subjects never see or delete each other's notes")
    func isolation() async throws {
        try await withTwoUsers { client, alice, bob in
            let added = try await client.callTool("notes_add", ["text": "alice's secret plan"], token: alice)
            #expect(added.status == .ok)
            #expect(!added.isToolError)
            let id = try #require(added.toolOutput["id"] as? Int)
            #expect(added.toolOutput["text"] as? String == "alice's secret plan")

            let bobList = try await client.callTool("notes_list", token: bob)
            #expect((bobList.toolOutput["notes"] as? [Any])?.isEmpty == true)
            let bobSearch = try await client.callTool("notes_search", ["query": "secret"], token: bob)
            #expect((bobSearch.toolOutput["notes"] as? [Any])?.isEmpty == true)
            let bobDelete = try await client.callTool("notes_delete", ["id": id], token: bob)
            #expect(bobDelete.isToolError)
            #expect(bobDelete.toolText == "no note with id \(id)")

            let aliceList = try await client.callTool("notes_list", token: alice)
            let notes = try #require(aliceList.toolOutput["notes"] as? [[String: Any]])
            #expect(notes.map { $0["id"] as? Int } == [id])
            let aliceDelete = try await client.callTool("notes_delete", ["id": id], token: alice)
            #expect(aliceDelete.toolOutput["deleted"] as? Int == id)
            #expect((try await client.callTool("notes_list", token: alice).toolOutput["notes"] as? [Any])?.isEmpty == true)
        }
    }

    /// tools/call is answered without the SDK's server (DirectToolCall): its `Value` decoder took
    /// any `data:…,…` string for binary data, so this note was refused as "not a string".
    @Test("a note that looks like a data URL is still text, on both protocol paths")
    func dataURLLookingTextStaysText() async throws {
        try await withTwoUsers { (client: MCPTestClient, alice: String, _: String) async throws in
            let added = try await client.callTool("notes_add", ["text": "data:,hello"], token: alice)
            #expect(added.status == .ok && !added.isToolError, "\(added.toolText)")
            #expect(added.toolOutput["text"] as? String == "data:,hello")
            let modern = try await client.modern("tools/call", ["name": "notes_add", "arguments": ["text": "data:text/plain;base64,aGk="]],
                                                 token: alice)
            #expect(modern.status == .ok && !modern.isToolError, "\(modern.toolText)")
            let found = try await Self.search(client, "data:", token: alice)
            #expect(Set(found) == ["data:,hello", "data:text/plain;base64,aGk="], "\(found)")
            // The structured copy too: it used to be read back with the SDK's decoder, which made it binary data.
            let listed = try await client.callTool("notes_search", ["query": "data:,"], token: alice)
            let structured = (listed.result?["structuredContent"] as? [String: Any])?["notes"] as? [[String: Any]]
            #expect(structured?.compactMap { $0["text"] as? String } == ["data:,hello"], "\(listed.body)")
        }
    }

    @Test("search is case-insensitive and treats % and _ literally")
    func searchEscapesWildcards() async throws {
        try await withTwoUsers { (client: MCPTestClient, alice: String, _: String) async throws in
            for text in ["100% Sure", "snake_case", "plain"] {
                #expect(try await client.callTool("notes_add", ["text": text], token: alice).status == .ok)
            }
            #expect(try await Self.search(client, "%", token: alice) == ["100% Sure"])
            #expect(try await Self.search(client, "_", token: alice) == ["snake_case"])
            #expect(try await Self.search(client, "SURE", token: alice) == ["100% Sure"])
            #expect(try await Self.search(client, "a", token: alice) == ["plain", "snake_case"])
        }
    }

    @Test("a call without the tool's scope is a transport-level 403 insufficient_scope (MCP step-up)")
    func insufficientScope() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            minter.scope = "notes:read"
            let token = minter.token()
            var bare = minter
            bare.scope = ""
            bare.jti = UUID().uuidString
            let bareToken = bare.token()
            let reply = try await client.callTool("notes_add", ["text": "x"], token: token)
            #expect(reply.status == .forbidden)
            #expect(reply.challenge == """
                Bearer error="insufficient_scope", scope="notes:read notes:write", \
                resource_metadata="\(ResourceServerHarness.metadataURL)", \
                error_description="the notes_add tool requires notes:write"
                """)
            #expect(try await client.callTool("notes_list", token: token).status == .ok)

            // tools/list shows every tool even to a token with no scopes at all.
            let listed = try await client.request("tools/list", token: bareToken)
            let names = (listed.result?["tools"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["whoami", "notes_add", "notes_list", "notes_search", "notes_delete"])
            let whoami = try await client.callTool("whoami", token: bareToken)
            #expect(whoami.toolOutput["scopes"] as? [String] == [])
        }
    }

    @Test("bad arguments are tool errors, unknown tools JSON-RPC errors; never a 5xx")
    func badArguments() async throws {
        try await withTwoUsers { client, alice, _ in
            let cases: [(String, [String: Any], String)] = [
                ("notes_add", [:], #"Invalid arguments: missing required argument "text""#),
                ("notes_add", ["text": 5], #"Invalid arguments: "text" must be a string"#),
                ("notes_add", ["text": "   "], #"Invalid arguments: "text" must not be empty"#),
                ("notes_add", ["text": String(repeating: "x", count: 10_001)], #"Invalid arguments: "text" is longer than 10000 characters"#),
                ("notes_add", ["text": "x", "owner": "bob"], "Invalid arguments: unknown argument(s): owner"),
                ("notes_delete", ["id": "abc"], #"Invalid arguments: "id" must be an integer"#),
                ("notes_search", ["query": ["a"]], #"Invalid arguments: "query" must be a string"#),
                // PostgreSQL refuses U+0000 in text: this was a -32603 "the tool failed" before.
                ("notes_add", ["text": "a\u{0}b"], #"Invalid arguments: "text" must not contain NUL characters"#),
                ("notes_search", ["query": "\u{0}"], #"Invalid arguments: "query" must not contain NUL characters"#),
            ]
            for (tool, arguments, message) in cases {
                let reply = try await client.callTool(tool, arguments, token: alice)
                #expect(reply.status == .ok)
                #expect(reply.isToolError, "\(tool) \(arguments)")
                #expect(reply.toolText == message)
            }
            let unknown = try await client.callTool("no_such_tool", token: alice)
            #expect(unknown.status == .ok)
            #expect(unknown.errorCode == -32602)
        }
    }

    @Test("whoami reports the token's subject, client and scopes")
    func whoami() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            minter.subject = "user-42"
            minter.clientID = "inspector"
            let token = minter.token()
            let reply = try await client.callTool("whoami", token: token)
            #expect(reply.toolOutput["subject"] as? String == "user-42")
            #expect(reply.toolOutput["client_id"] as? String == "inspector")
            #expect(reply.toolOutput["scopes"] as? [String] == ["notes:read", "notes:write"])
            let structured = reply.result?["structuredContent"] as? [String: Any]
            #expect(structured?["subject"] as? String == "user-42")
            #expect(structured?["client_id"] as? String == "inspector")
            #expect(structured?["scopes"] as? [String] == ["notes:read", "notes:write"])
            #expect(reply.toolText == #"{"client_id":"inspector","scopes":["notes:read","notes:write"],"subject":"user-42"}"#)
        }
    }

    private static func search(_ client: MCPTestClient, _ query: String, token: String) async throws -> [String] {
        let reply = try await client.callTool("notes_search", ["query": query], token: token)
        return ((reply.toolOutput["notes"] as? [[String: Any]]) ?? []).compactMap { $0["text"] as? String }
    }

    /// Fresh subjects per test, so parallel tests and earlier runs never share notes.
    private func withTwoUsers(_ body: @escaping @Sendable (MCPTestClient, String, String) async throws -> Void) async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            var alice = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            alice.subject = "alice-\(UUID().uuidString)"
            var bob = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            bob.subject = "bob-\(UUID().uuidString)"
            let tokens = (alice.token(), bob.token())
            try await body(client, tokens.0, tokens.1)
        }
    }
}
