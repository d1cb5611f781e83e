import AsyncHTTPClient
import Foundation
import TestSupport
import Testing
@testable import ResourceServer

/// Figures for the stdio gateway (issue 11, "Speed"): a new user's first call (process start and
/// MCP handshake included), steady-state calls/s through one user's process, and the resident
/// memory of an idle child. Opt-in (`GATEHOUSE_STDIO_BENCH=1`): it measures, it does not assert.
@Suite("stdio benchmark", .serialized, .enabled(if: ProcessInfo.processInfo.environment["GATEHOUSE_STDIO_BENCH"] != nil))
struct StdioBenchmarkTests {
    typealias Fixture = StdioFixture

    static func residentKiB(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0
    }

    @Test("first call of a new user, steady-state calls/s, RSS per idle process")
    func figures() async throws {
        let pool = Fixture.pool()
        try await Fixture.withGateway(pool) { gateway in
            var firstCalls: [Double] = []
            for index in 0..<5 {
                let started = ContinuousClock.now
                let reply = try await Fixture.post(gateway, Fixture.call("echo", arguments: #"{"text":"x"}"#), subject: "user-\(index)")
                #expect(reply.toolText == "x")
                firstCalls.append(Double((ContinuousClock.now - started).components.attoseconds) / 1e15
                                  + Double((ContinuousClock.now - started).components.seconds) * 1000)
            }
            try await Task.sleep(for: .seconds(1))
            var rss: [Int] = []
            for index in 0..<5 { if let pid = await pool.pid(for: "user-\(index)") { rss.append(Self.residentKiB(pid)) } }

            let duration = Duration.seconds(5)
            for concurrency in [1, 8] {
                let started = ContinuousClock.now
                let calls = try await withThrowingTaskGroup(of: Int.self) { group in
                    for worker in 0..<concurrency {
                        group.addTask {
                            var count = 0
                            while ContinuousClock.now - started < duration {
                                let reply = try await Fixture.post(gateway, Fixture.call("echo", id: worker, arguments: #"{"text":"y"}"#),
                                                                   subject: "user-0")
                                guard reply.toolText == "y" else { throw TestSetupError("bad reply: \(reply.body)") }
                                count += 1
                            }
                            return count
                        }
                    }
                    return try await group.reduce(0, +)
                }
                print("stdio bench: steady state, concurrency \(concurrency): \(calls / 5) calls/s")
            }
            let sorted = firstCalls.sorted()
            print("stdio bench: first call of a new user (ms): median \(Int(sorted[2])), min \(Int(sorted[0])), max \(Int(sorted[4]))")
            print("stdio bench: RSS per idle process (KiB): \(rss)")
        }
    }
}
