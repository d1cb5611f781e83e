import Foundation
import HTTPTypes
import Shared
import Testing
import TestSupport
@testable import ResourceServer

/// A ResourceServer with a `GATEHOUSE_CONFIG` file of two resources: the built-in notes at
/// /mcp/notes and a gateway resource at /mcp/crm (its HTTP upstream is down: everything the
/// gateway refuses is refused before it would be reached, and what it lets through gets 503).
@Suite("Configured resources (GATEHOUSE_CONFIG)")
struct ConfiguredResourcesTests {
    static let config = """
        resources:
          - path: /mcp/notes
            builtin: notes
          - path: /mcp/crm
            name: CRM
            scopes:
              crm:read: Read the CRM
              crm:write: Change the CRM
            tools:
              "delete_*": [crm:write]
              "get_*": [crm:read]
            upstream:
              http:
                url: http://127.0.0.1:1/mcp
                timeout: 5
        """
    static let notes = "http://localhost:8000/mcp/notes"
    static let crm = "http://localhost:8000/mcp/crm"

    /// Runs `body` against a server reading `config` from a temporary file.
    static func withServer(_ body: @escaping @Sendable (MCPTestClient, TokenMinter) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-rs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try config.write(toFile: path, atomically: true, encoding: .utf8)
        let clock = TestClock()
        try await StandInAuthorizationServer.withRunning { authorizationServer in
            let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
            try await ResourceServerHarness.withServer(authorizationServer: authorizationServer, clock: clock,
                                                       overrides: ["GATEHOUSE_CONFIG": path]) { client in
                try await body(client, minter)
            }
        }
    }

    static func token(_ minter: TokenMinter, audience: String, scope: String) -> String {
        var minter = minter
        minter.audience = .one(audience)
        minter.scope = scope
        minter.jti = UUID().uuidString
        return minter.token()
    }

    static func call(_ client: MCPTestClient, _ path: String, tool: String, token: String?,
                     headers: HTTPFields = [:]) async throws -> MCPTestClient.Reply {
        let body = #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\#(tool)","arguments":{}}}"#
        return try await client.post(body: body, token: token, headers: headers, path: path)
    }

    static func list(_ client: MCPTestClient, _ path: String, token: String?) async throws -> MCPTestClient.Reply {
        try await client.post(body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, token: token, path: path)
    }

    @Test("each resource has its own RFC 9728 document at its path; no root document, no /mcp")
    func metadata() async throws {
        try await Self.withServer { client, minter in
            let crm = try await client.send(.get, "/.well-known/oauth-protected-resource/mcp/crm")
            #expect(crm.status == .ok)
            #expect(crm.json["resource"] as? String == Self.crm)
            #expect(crm.json["resource_name"] as? String == "CRM")
            #expect(crm.json["scopes_supported"] as? [String] == ["crm:read", "crm:write"])
            #expect(crm.json["authorization_servers"] as? [String] == [minter.issuer])
            let notes = try await client.send(.get, "/.well-known/oauth-protected-resource/mcp/notes")
            #expect(notes.json["resource"] as? String == Self.notes)
            #expect(notes.json["scopes_supported"] as? [String] == ["notes:read", "notes:write"])
            #expect(try await client.send(.get, "/.well-known/oauth-protected-resource").status == .notFound)
            #expect(try await client.send(.get, "/.well-known/oauth-protected-resource/mcp").status == .notFound)
            let token = Self.token(minter, audience: "http://localhost:8000/mcp", scope: "notes:read")
            #expect(try await Self.list(client, "/mcp", token: token).status == .notFound)
        }
    }

    @Test("the 401 challenge of a gateway resource names its own metadata and scopes")
    func challenge() async throws {
        try await Self.withServer { client, _ in
            let reply = try await Self.list(client, "/mcp/crm", token: nil)
            #expect(reply.status == .unauthorized)
            #expect(reply.challenge == """
                Bearer resource_metadata="http://localhost:8000/.well-known/oauth-protected-resource/mcp/crm", \
                scope="crm:read crm:write"
                """)
        }
    }

    @Test("a token for one resource is refused by the other: 401 invalid_token", arguments: [
        ("/mcp/crm", ConfiguredResourcesTests.notes, "crm:read notes:read"),
        ("/mcp/notes", ConfiguredResourcesTests.crm, "crm:read notes:read"),
        ("/mcp/crm", "http://localhost:8000/mcp", "crm:read"),
    ])
    func crossResource(path: String, audience: String, scope: String) async throws {
        try await Self.withServer { client, minter in
            let reply = try await Self.list(client, path, token: Self.token(minter, audience: audience, scope: scope))
            #expect(reply.status == .unauthorized)
            #expect(reply.json["error"] as? String == "invalid_token")
            #expect(reply.challenge?.contains(#"error="invalid_token""#) == true)
            #expect(reply.challenge?.contains("error_description=\"token not intended for this resource\"") == true)
        }
    }

    @Test("the right audience passes: built-in notes answer at their path, a gateway call reaches the (down) upstream")
    func rightAudience() async throws {
        try await Self.withServer { client, minter in
            let notesToken = Self.token(minter, audience: Self.notes, scope: "notes:read")
            let listed = try await Self.list(client, "/mcp/notes", token: notesToken)
            #expect(listed.status == .ok)
            #expect((listed.result?["tools"] as? [[String: Any]])?.isEmpty == false)
            let crmToken = Self.token(minter, audience: Self.crm, scope: "crm:read")
            let call = try await Self.call(client, "/mcp/crm", tool: "get_contact", token: crmToken)
            #expect(call.status == .serviceUnavailable, "\(call.body)")
            #expect(call.errorCode != nil)
            // tools/list is not scope-checked: it goes to the upstream too.
            #expect(try await Self.list(client, "/mcp/crm", token: crmToken).status == .serviceUnavailable)
        }
    }

    @Test("tools/call needing a scope the token lacks: 403 insufficient_scope naming it, before the upstream")
    func toolScope() async throws {
        try await Self.withServer { client, minter in
            let readOnly = Self.token(minter, audience: Self.crm, scope: "crm:read")
            let reply = try await Self.call(client, "/mcp/crm", tool: "delete_contact", token: readOnly)
            #expect(reply.status == .forbidden)
            #expect(reply.json["error"] as? String == "insufficient_scope")
            #expect(reply.challenge == """
                Bearer error="insufficient_scope", scope="crm:read crm:write", \
                resource_metadata="http://localhost:8000/.well-known/oauth-protected-resource/mcp/crm", \
                error_description="the delete_contact tool requires crm:write"
                """)
            let writer = Self.token(minter, audience: Self.crm, scope: "crm:write")
            #expect(try await Self.call(client, "/mcp/crm", tool: "delete_contact", token: writer).status == .serviceUnavailable)
            #expect(try await Self.call(client, "/mcp/crm", tool: "get_contact", token: writer).status == .forbidden)
        }
    }

    @Test("a tool no rule matches is refused with 403 and a JSON-RPC error")
    func unmatchedTool() async throws {
        try await Self.withServer { client, minter in
            let token = Self.token(minter, audience: Self.crm, scope: "crm:read crm:write")
            let reply = try await Self.call(client, "/mcp/crm", tool: "export_everything", token: token)
            #expect(reply.status == .forbidden)
            #expect(reply.errorCode == -32600)
            #expect(reply.challenge == nil)
        }
    }

    @Test("every refused call lands in audit_events as tool_call_denied: who, which tool, why, and no token")
    func deniedCallsAudited() async throws {
        try await Self.withServer { client, minter in
            var minter = minter
            minter.audience = .one(Self.crm)
            minter.scope = "crm:read"
            minter.subject = TestDatabase.uniqueName("auditee")
            let jti = UUID().uuidString
            minter.jti = jti
            let token = minter.token()
            #expect(try await Self.call(client, "/mcp/crm", tool: "delete_contact", token: token).status == .forbidden)
            #expect(try await Self.call(client, "/mcp/crm", tool: "export_everything", token: token).status == .forbidden)
            let rows = try await TestDatabase.withDatabase { database in
                try await database.query("""
                    SELECT outcome, client_id, detail::text AS detail FROM audit_events
                    WHERE kind = 'tool_call_denied' AND detail->>'jti' = \(jti) ORDER BY id
                    """).map { row -> (String, String, String) in
                    let columns = row.columns
                    return (try columns["outcome"], try columns["client_id"], try columns["detail"])
                }
            }
            try #require(rows.count == 2)
            let details = try rows.map { try JSONDecoder().decode([String: String].self, from: Data($0.2.utf8)) }
            #expect(rows.allSatisfy { $0.0 == "failure" && $0.1 == minter.clientID })
            #expect(details.map { $0["tool"] } == ["delete_contact", "export_everything"])
            #expect(details.map { $0["reason"] } == ["insufficient_scope", "no_rule"])
            #expect(details.allSatisfy { $0["sub"] == minter.subject && $0["resource"] == "/mcp/crm" })
            #expect(rows.allSatisfy { !$0.2.contains(token) })
        }
    }

    @Test("Mcp-Name or Mcp-Method disagreeing with the body is 400: an upstream routing on them sees what was checked")
    func routingHeaders() async throws {
        try await Self.withServer { client, minter in
            let token = Self.token(minter, audience: Self.crm, scope: "crm:read")
            let name = try await Self.call(client, "/mcp/crm", tool: "get_contact", token: token,
                                           headers: [HTTPField.Name("Mcp-Name")!: "delete_contact"])
            #expect(name.status == .badRequest)
            let method = try await Self.call(client, "/mcp/crm", tool: "get_contact", token: token,
                                             headers: [HTTPField.Name("Mcp-Method")!: "tools/list"])
            #expect(method.status == .badRequest)
            let malformed = try await client.post(body: "[1,2]", token: token, path: "/mcp/crm")
            #expect(malformed.status == .badRequest)
            #expect(malformed.errorCode == -32600)
        }
    }

    @Test("a bad config file stops the ResourceServer's configuration with the file key named")
    func badFile() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-rs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try Self.config.replacingOccurrences(of: "http://127.0.0.1:1/mcp", with: "http://crm.example.com/mcp")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ConfigurationError.self) {
            try ResourceServerHarness.configuration(issuer: "http://localhost:9000", overrides: ["GATEHOUSE_CONFIG": path])
        }
        #expect(error.variable == "GATEHOUSE_CONFIG \(path): resources[1].upstream.http.url")
        try "rs_port: 70000\n".write(toFile: path, atomically: true, encoding: .utf8)
        var values = ["GATEHOUSE_CONFIG": path]
        values["DATABASE_URL"] = "postgres://gatehouse@127.0.0.1:1/never-connected"
        let port = try #require(throws: ConfigurationError.self) { try ResourceServerConfiguration(environment: Environment(values)) }
        #expect(port.variable == "GATEHOUSE_CONFIG \(path): rs_port")
    }
}
