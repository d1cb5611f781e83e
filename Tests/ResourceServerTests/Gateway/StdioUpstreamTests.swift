import AsyncHTTPClient
import Foundation
import NIOHTTP1
import Testing
@testable import ResourceServer

/// `StdioUpstream` over real HTTP, in front of real child processes running the MCP Python SDK
/// server Tests/e2e/upstreams/stdio_upstream.py (issue 11, behaviour 2).
@Suite("stdio upstream", .serialized)
struct StdioUpstreamTests {
    typealias Fixture = StdioFixture

    @Test("initialize is answered from the child's result with a session id; tools list and call go through")
    func toolsListAndCall() async throws {
        try await Fixture.withGateway(Fixture.pool()) { gateway in
            let initialized = try await Fixture.post(gateway, Fixture.initialize())
            #expect(initialized.status == 200)
            let serverInfo = initialized.result?["serverInfo"] as? [String: Any]
            #expect(serverInfo?["name"] as? String == "stdio-upstream")
            #expect(initialized.result?["protocolVersion"] as? String == "2025-11-25")
            #expect(initialized.last["id"] as? Int == 1)
            let session = try #require(initialized.headers["Mcp-Session-Id"].first)

            let notified = try await Fixture.post(gateway, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, session: session)
            #expect(notified.status == 202)

            let list = try await Fixture.post(gateway, #"{"jsonrpc":"2.0","id":"list-1","method":"tools/list"}"#, session: session)
            #expect(list.status == 200)
            #expect(list.last["id"] as? String == "list-1")
            let names = Set(((list.result?["tools"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String })
            #expect(names.isSuperset(of: ["whoami", "echo", "slow", "crash", "confirm"]))

            let echo = try await Fixture.post(gateway, Fixture.call("echo", id: 7, arguments: #"{"text":"über \u2028 line"}"#), session: session)
            #expect(echo.status == 200)
            #expect(echo.headers["Content-Type"].first == "application/json")
            #expect(echo.last["id"] as? Int == 7)
            #expect(echo.toolText == "über \u{2028} line")
        }
    }

    @Test("an older client is told its own version; an unknown one the child's")
    func negotiatesTheVersion() async throws {
        try await Fixture.withGateway(Fixture.pool()) { gateway in
            let older = try await Fixture.post(gateway, Fixture.initialize(version: "2025-06-18"))
            #expect(older.result?["protocolVersion"] as? String == "2025-06-18")
            let unknown = try await Fixture.post(gateway, Fixture.initialize(version: "1999-01-01"))
            #expect(unknown.result?["protocolVersion"] as? String == "2025-11-25")
        }
    }

    @Test("a 2026-07-28 request is 400 UnsupportedProtocolVersion (-32022) naming the handshake versions served; no process starts")
    func statelessRevisionIsRefused() async throws {
        let pool = Fixture.pool()
        try await Fixture.withGateway(pool) { gateway in
            let discover = #"{"jsonrpc":"2.0","id":"d-1","method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}"#
            let reply = try await Fixture.post(gateway, discover, version: "2026-07-28")
            #expect(reply.status == 400)
            #expect(reply.last["id"] as? String == "d-1")
            let error = try #require(reply.last["error"] as? [String: Any])
            #expect(error["code"] as? Int == -32022)
            let data = error["data"] as? [String: Any]
            #expect(data?["supported"] as? [String] == ["2025-06-18", "2025-11-25"])
            #expect(data?["requested"] as? String == "2026-07-28")
            #expect(await pool.count == 0)
            // The same client falling back to the handshake era is served.
            #expect(try await Fixture.post(gateway, Fixture.initialize()).status == 200)
        }
    }

    @Test("two users get two processes; each sees only its own identity and none of Gatehouse's environment")
    func twoUsersTwoProcesses() async throws {
        let pool = Fixture.pool()
        try await Fixture.withGateway(pool) { gateway in
            let alice = try await Fixture.post(gateway, Fixture.call("whoami"), subject: "alice")
            let bob = try await Fixture.post(gateway, Fixture.call("whoami"), subject: "bob")
            #expect(alice.toolOutput["subject"] as? String == "alice")
            #expect(alice.toolOutput["username"] as? String == "Alice")
            #expect(bob.toolOutput["subject"] as? String == "bob")
            #expect(bob.toolOutput["username"] as? String == "Bob")
            let alicePID = try #require(alice.toolOutput["pid"] as? Int)
            let bobPID = try #require(bob.toolOutput["pid"] as? Int)
            #expect(alicePID != bobPID)
            #expect(await pool.count == 2)
            // A second call of Alice's reaches the same process.
            let again = try await Fixture.post(gateway, Fixture.call("whoami", id: 3), subject: "alice")
            #expect(again.toolOutput["pid"] as? Int == alicePID)

            let environment = Set((alice.toolOutput["environment"] as? [String]) ?? [])
            #expect(!environment.contains("DATABASE_URL"))
            #expect(!environment.contains("GATEHOUSE_KEY_ENCRYPTION_KEY"))
            #expect(environment.isSubset(of: ["PATH", "HOME", "LANG", "GREETING", "GATEHOUSE_SUBJECT", "GATEHOUSE_USERNAME",
                                              // Set by the Python interpreter itself at start-up.
                                              "LC_CTYPE", "PYTHONIOENCODING"]))
            #expect(alice.toolOutput["greeting"] as? String == "hello from the config")
        }
    }

    @Test("the configured env cannot set another user's identity")
    func configuredEnvironmentCannotOverrideIdentity() {
        let environment = StdioProcessPool.childEnvironment(
            base: Fixture.gatehouseEnvironment, configured: ["GATEHOUSE_SUBJECT": "root", "LOG_LEVEL": "info"],
            identity: (subject: "alice", username: nil))
        #expect(environment == ["PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8", "LOG_LEVEL": "info",
                                "GATEHOUSE_SUBJECT": "alice", "GATEHOUSE_USERNAME": ""])
        let shared = StdioProcessPool.childEnvironment(base: [:], configured: ["GATEHOUSE_SUBJECT": "root"], identity: nil)
        #expect(shared == ["PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/", "LANG": "C.UTF-8"])
    }

    @Test("a crash fails the call in flight with a JSON-RPC error; the next call starts a new process")
    func crashThenRecovery() async throws {
        let pool = Fixture.pool()
        try await Fixture.withGateway(pool) { gateway in
            let before = try await Fixture.post(gateway, Fixture.call("whoami"))
            let firstPID = try #require(before.toolOutput["pid"] as? Int)

            let crashed = try await Fixture.post(gateway, Fixture.call("crash", id: 9))
            #expect(crashed.status == 200)
            #expect(crashed.last["id"] as? Int == 9)
            #expect(crashed.errorCode == UpstreamFailure.unavailableCode)
            #expect(await Fixture.eventually(within: 5) { await pool.count == 0 })

            let after = try await Fixture.post(gateway, Fixture.call("whoami", id: 10))
            #expect(after.toolOutput["subject"] as? String == "alice")
            let secondPID = try #require(after.toolOutput["pid"] as? Int)
            #expect(secondPID != firstPID)
            #expect(!Fixture.isRunning(Int32(firstPID)))
        }
    }

    @Test("a slow tool streams its progress as SSE, in the client's own token, before the result")
    func slowToolStreamsProgress() async throws {
        try await Fixture.withGateway(Fixture.pool()) { gateway in
            let reply = try await Fixture.post(gateway, Fixture.call("slow", id: 4, arguments: #"{"steps":3,"delay":0.2}"#,
                                                                     progressToken: #""my-token""#))
            #expect(reply.status == 200)
            #expect(reply.headers["Content-Type"].first == "text/event-stream")
            let messages = reply.messages
            #expect(messages.count == 4)
            let progress = messages.dropLast()
            #expect(progress.allSatisfy { $0["method"] as? String == "notifications/progress" })
            #expect(progress.compactMap { ($0["params"] as? [String: Any])?["progressToken"] as? String } == ["my-token", "my-token", "my-token"])
            #expect(progress.compactMap { ($0["params"] as? [String: Any])?["progress"] as? Int } == [1, 2, 3])
            #expect(reply.last["id"] as? Int == 4)
            #expect(reply.toolText == "done after 3 steps")

            // A client that accepts only JSON gets the answer alone.
            let json = try await Fixture.post(gateway, Fixture.call("slow", id: 5, arguments: #"{"steps":2,"delay":0.1}"#,
                                                                    progressToken: "1"), accept: "application/json")
            #expect(json.headers["Content-Type"].first == "application/json")
            #expect(json.messages.count == 1)
            #expect(json.toolText == "done after 2 steps")
        }
    }

    @Test("a session id is bound to its user: another user's, or an altered one, is a session that does not exist")
    func sessionIsBoundToTheSubject() async throws {
        try await Fixture.withGateway(Fixture.pool()) { gateway in
            let alice = try await Fixture.post(gateway, Fixture.initialize(), subject: "alice")
            let session = try #require(alice.headers["Mcp-Session-Id"].first)
            let own = try await Fixture.post(gateway, Fixture.call("whoami"), subject: "alice", session: session)
            #expect(own.status == 200)
            let stolen = try await Fixture.post(gateway, Fixture.call("whoami"), subject: "bob", session: session)
            #expect(stolen.status == 404)
            #expect(stolen.errorCode == UpstreamFailure.sessionNotFoundCode)
            let altered = try await Fixture.post(gateway, Fixture.call("whoami"), subject: "alice", session: session + "x")
            #expect(altered.status == 404)
        }
    }

    @Test("a command that cannot start answers 503 with a JSON-RPC error, quickly")
    func unstartableCommandIs503() async throws {
        let pool = Fixture.pool(Fixture.settings { $0.command = ["/nonexistent/mcp-server"] })
        try await Fixture.withGateway(pool) { gateway in
            let started = Date()
            let reply = try await Fixture.post(gateway, Fixture.call("whoami"))
            #expect(reply.status == 503)
            #expect(reply.errorCode == UpstreamFailure.unavailableCode)
            #expect(Date().timeIntervalSince(started) < 5)
            #expect(await pool.count == 0)
        }
    }

    @Test("GET and DELETE are 405: no standalone stream, no session state")
    func getAndDeleteAre405() async throws {
        let upstream = StdioUpstream(pool: Fixture.pool(), sessions: GatewaySessionBinding(key: Fixture.key), resource: Fixture.resource)
        let gateway = try await LocalServer.start { request, body, context in
            try await upstream.handle(UpstreamRequest(method: request.method, headers: request.headers, body: body,
                                                      identity: VerifiedIdentity(subject: "alice", clientID: "c", scopes: .init(""), tokenID: "j"),
                                                      accessToken: "t", requestID: context.id), context: context)
        }
        var request = HTTPClientRequest(url: gateway.url)
        for method in [HTTPMethod.GET, .DELETE] {
            request.method = method
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            #expect(response.status.code == 405)
            #expect(response.headers["Allow"].first == "POST, OPTIONS")
        }
        await gateway.stop()
        await upstream.pool.shutdown()
    }
}
