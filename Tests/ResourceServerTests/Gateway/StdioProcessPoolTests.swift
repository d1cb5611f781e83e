import Foundation
import Logging
import ServiceLifecycle
import Testing
@testable import ResourceServer

/// `StdioProcessPool` and `StdioSessionRouter` driving real children (the MCP Python SDK server in
/// Tests/e2e/upstreams/stdio_upstream.py): lifecycle limits, multiplexing and routing.
@Suite("stdio process pool", .serialized)
struct StdioProcessPoolTests {
    typealias Fixture = StdioFixture
    typealias Caller = StdioSessionRouter.Caller

    static func collect(_ stream: AsyncStream<[UInt8]>) async -> [[String: Any]] {
        var messages: [[String: Any]] = []
        for await message in stream {
            if let object = try? JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] { messages.append(object) }
        }
        return messages
    }

    static func pid(of pool: StdioProcessPool, _ subject: String) async throws -> Int32 {
        try #require(await pool.pid(for: subject))
    }

    @Test("a process with no call for idle_timeout is stopped (run as a Service)")
    func idleProcessIsStopped() async throws {
        let pool = Fixture.pool(Fixture.settings { $0.idleTimeout = .seconds(1) })
        let service = Task { try await pool.run() }
        _ = try await pool.router(for: "alice", username: { nil })
        let pid = try await Self.pid(of: pool, "alice")
        #expect(Fixture.isRunning(pid))
        #expect(await Fixture.eventually(within: 6) { await pool.count == 0 })
        #expect(await Fixture.eventually(within: 5) { !Fixture.isRunning(pid) })
        service.cancel()
        _ = try? await service.value
    }

    @Test("a call in flight keeps its process from idling out")
    func busyProcessIsNotIdle() async throws {
        // The request timeout is generous: on a loaded machine the Python child alone can take most
        // of the fixture's 20 s to start, and this test is about idling, not about timeouts.
        let pool = Fixture.pool(Fixture.settings { $0.idleTimeout = .milliseconds(400); $0.requestTimeout = .seconds(90) })
        let service = Task { try await pool.run() }
        let router = try await pool.router(for: "alice", username: { nil })
        let stream = try await router.forward(request: Array(Fixture.call("slow", arguments: #"{"steps":3,"delay":0.4}"#).utf8), from: Caller(subject: "alice", session: ""))
        let messages = await Self.collect(stream)
        #expect(((messages.last?["result"] as? [String: Any])?["isError"] as? Bool) == false)
        service.cancel()
        _ = try? await service.value
    }

    @Test("beyond max_processes the least recently used idle process is stopped")
    func leastRecentlyUsedIsEvicted() async throws {
        let pool = Fixture.pool(Fixture.settings { $0.maxProcesses = 2 })
        _ = try await pool.router(for: "alice", username: { nil })
        let alice = try await Self.pid(of: pool, "alice")
        try await Task.sleep(for: .milliseconds(20))
        _ = try await pool.router(for: "bob", username: { nil })
        let bob = try await Self.pid(of: pool, "bob")
        try await Task.sleep(for: .milliseconds(20))
        _ = try await pool.router(for: "alice", username: { nil })  // Alice is now the most recent.
        _ = try await pool.router(for: "carol", username: { nil })
        #expect(await pool.count == 2)
        #expect(await pool.pid(for: "bob") == nil)
        #expect(await Fixture.eventually(within: 5) { !Fixture.isRunning(bob) })
        #expect(Fixture.isRunning(alice))
        await pool.shutdown()
    }

    @Test("at max_processes with every process busy, a new user is refused rather than someone's call killed")
    func fullPoolRefuses() async throws {
        let pool = Fixture.pool(Fixture.settings { $0.maxProcesses = 1 })
        let router = try await pool.router(for: "alice", username: { nil })
        let stream = try await router.forward(request: Array(Fixture.call("slow", arguments: #"{"steps":2,"delay":0.5}"#).utf8), from: Caller(subject: "alice", session: ""))
        await #expect(throws: StdioProcessPool.Failure.self) { try await pool.router(for: "bob", username: { nil }) }
        let messages = await Self.collect(stream)
        #expect(messages.last?["result"] != nil)
        await pool.shutdown()
    }

    @Test("graceful shutdown of the service group leaves no child behind")
    func shutdownLeavesNoChild() async throws {
        let pool = Fixture.pool()
        var logger = Logger(label: "group")
        logger.logLevel = .error
        let group = ServiceGroup(configuration: .init(services: [pool], logger: logger))
        let running = Task { try await group.run() }
        var pids: [Int32] = []
        for subject in ["alice", "bob", "carol"] {
            _ = try await pool.router(for: subject, username: { nil })
            pids.append(try await Self.pid(of: pool, subject))
        }
        #expect(pids.allSatisfy(Fixture.isRunning))
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(pids.allSatisfy { !Fixture.isRunning($0) })
        await #expect(throws: StdioProcessPool.Failure.self) { try await pool.router(for: "alice", username: { nil }) }
    }

    @Test("a child that ignores end-of-file and SIGTERM is killed after the grace period")
    func stubbornChildIsKilled() async throws {
        let pool = Fixture.pool(Fixture.settings {
            $0.environment["IGNORE_SHUTDOWN"] = "1"
            $0.grace = .milliseconds(500)
        })
        _ = try await pool.router(for: "alice", username: { nil })
        let pid = try await Self.pid(of: pool, "alice")
        let started = Date()
        await pool.shutdown()
        #expect(!Fixture.isRunning(pid))
        #expect(Date().timeIntervalSince(started) < 5)
    }

    @Test("two sessions using the same request id each get their own answer")
    func sameIDsFromTwoSessions() async throws {
        let pool = Fixture.pool()
        let router = try await pool.router(for: "alice", username: { nil })
        let first = try await router.forward(request: Array(Fixture.call("echo", id: 1, arguments: #"{"text":"one"}"#).utf8), from: Caller(subject: "alice", session: "s1"))
        let second = try await router.forward(request: Array(Fixture.call("echo", id: 1, arguments: #"{"text":"two"}"#).utf8), from: Caller(subject: "alice", session: "s2"))
        async let one = Self.collect(first)
        async let two = Self.collect(second)
        let (a, b) = await (one, two)
        #expect(a.last?["id"] as? Int == 1 && b.last?["id"] as? Int == 1)
        let text = { (m: [String: Any]?) in (((m?["result"] as? [String: Any])?["content"] as? [[String: Any]])?.first?["text"]) as? String }
        #expect(text(a.last) == "one")
        #expect(text(b.last) == "two")
        await pool.shutdown()
    }

    @Test("progress arrives while the tool runs, well before its result")
    func progressArrivesDuringTheCall() async throws {
        let pool = Fixture.pool()
        let router = try await pool.router(for: "alice", username: { nil })
        let stream = try await router.forward(
            request: Array(Fixture.call("slow", arguments: #"{"steps":2,"delay":0.5}"#, progressToken: "5").utf8), from: Caller(subject: "alice", session: ""))
        let started = ContinuousClock.now
        var arrivals: [(String, Duration)] = []
        for await message in stream {
            let object = try JSONSerialization.jsonObject(with: Data(message)) as? [String: Any]
            arrivals.append((object?["method"] as? String ?? "result", ContinuousClock.now - started))
        }
        #expect(arrivals.map(\.0) == ["notifications/progress", "notifications/progress", "result"])
        #expect(arrivals[0].1 < arrivals[2].1 - .milliseconds(300))
        await pool.shutdown()
    }

    @Test("a server request (elicitation) reaches the session whose call caused it, and its answer the child")
    func serverRequestIsRoutedToItsSession() async throws {
        let pool = Fixture.pool()
        let router = try await pool.router(for: "alice", username: { nil })
        let alice = Caller(subject: "alice", session: "s1")
        let stream = try await router.forward(request: Array(Fixture.call("confirm", id: 3, arguments: #"{"question":"Delete?"}"#).utf8), from: alice)
        var iterator = stream.makeAsyncIterator()
        let request = try #require(await iterator.next())
        let object = try #require(try JSONSerialization.jsonObject(with: Data(request)) as? [String: Any])
        #expect(object["method"] as? String == "elicitation/create")
        let id = try #require(object["id"] as? String)
        let answer = #"{"jsonrpc":"2.0","id":"\#(id)","result":{"action":"accept","content":{"confirmed":true}}}"#
        // Another user cannot answer it; the caller can, once.
        #expect(await router.forward(response: Array(answer.utf8), from: Caller(subject: "mallory", session: "s1")) == false)
        #expect(await router.forward(response: Array(answer.utf8), from: alice) == true)
        #expect(await router.forward(response: Array(answer.utf8), from: alice) == false)
        let result = try #require(await iterator.next())
        #expect(String(decoding: result, as: UTF8.self).contains("confirmed=True"))
        await pool.shutdown()
    }

    @Test("in a shared process, a server request during two users' calls goes to nobody")
    func sharedProcessDoesNotGuess() async throws {
        let pool = Fixture.pool(Fixture.settings { $0.perUser = false })
        let router = try await pool.router(for: "alice", username: { nil })
        #expect(try await pool.router(for: "bob", username: { nil }) === router)
        let slow = try await router.forward(request: Array(Fixture.call("slow", arguments: #"{"steps":1,"delay":1.5}"#).utf8), from: Caller(subject: "bob", session: "b"))
        let confirm = try await router.forward(request: Array(Fixture.call("confirm", id: 3, arguments: #"{"question":"?"}"#).utf8), from: Caller(subject: "alice", session: "a"))
        async let bobs = Self.collect(slow)
        async let alices = Self.collect(confirm)
        let (b, a) = await (bobs, alices)
        #expect(b.count == 1 && b[0]["result"] != nil)
        // Alice's call fails (the child's elicitation was refused); nothing reached Bob.
        #expect(a.count == 1 && a[0]["method"] == nil)
        await pool.shutdown()
    }

    @Test("a client that goes away mid-call frees the call at once; the process is told and serves the next")
    func disconnectCancelsTheCall() async throws {
        let pool = Fixture.pool()
        let router = try await pool.router(for: "alice", username: { nil })
        let caller = Caller(subject: "alice", session: "s1")
        let reader = Task {
            let stream = try await router.forward(request: Array(Fixture.call("slow", arguments: #"{"steps":10,"delay":0.5}"#,
                                                                              progressToken: "1").utf8), from: caller)
            for await _ in stream { break }  // The first progress, then the client is gone.
        }
        try await reader.value
        #expect(await Fixture.eventually(within: 1) { router.activity.withLockedValue { $0.inFlight } == 0 })
        let next = try await router.forward(request: Array(Fixture.call("echo", id: 8, arguments: #"{"text":"still here"}"#).utf8), from: caller)
        let messages = await Self.collect(next)
        #expect(messages.last?["id"] as? Int == 8)
        await pool.shutdown()
    }

    @Test("notifications/cancelled from the client ends its call, in the process's id")
    func clientCancellation() async throws {
        let pool = Fixture.pool()
        let router = try await pool.router(for: "alice", username: { nil })
        let caller = Caller(subject: "alice", session: "s1")
        let stream = try await router.forward(request: Array(Fixture.call("slow", id: 41, arguments: #"{"steps":10,"delay":0.5}"#).utf8),
                                              from: caller)
        // Another session's cancellation of "its" id 41 changes nothing.
        let cancel = Array(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":41,"reason":"no"}}"#.utf8)
        await router.forward(notification: cancel, method: "notifications/cancelled", from: Caller(subject: "alice", session: "s2"))
        #expect(router.activity.withLockedValue { $0.inFlight } == 1)
        let started = ContinuousClock.now
        await router.forward(notification: cancel, method: "notifications/cancelled", from: caller)
        let messages = await Self.collect(stream)
        #expect(messages.isEmpty)
        #expect(ContinuousClock.now - started < .seconds(2))
        #expect(router.activity.withLockedValue { $0.inFlight } == 0)
        await pool.shutdown()
    }

    @Test("a call the child does not answer in time gets a timeout error")
    func callTimesOut() async throws {
        let pool = Fixture.pool(Fixture.settings { $0.requestTimeout = .milliseconds(500) })
        let router = try await pool.router(for: "alice", username: { nil })
        let stream = try await router.forward(request: Array(Fixture.call("slow", arguments: #"{"steps":1,"delay":3}"#).utf8), from: Caller(subject: "alice", session: ""))
        let messages = await Self.collect(stream)
        #expect(messages.last?["id"] as? Int == 2)
        #expect((messages.last?["error"] as? [String: Any])?["code"] as? Int == UpstreamFailure.timeoutCode)
        await pool.shutdown()
    }
}
