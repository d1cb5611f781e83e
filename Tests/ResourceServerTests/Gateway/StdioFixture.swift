import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
@testable import ResourceServer

/// The stdio gateway under test: a real `StdioProcessPool` running the MCP Python SDK server in
/// Tests/e2e/upstreams/stdio_upstream.py, with `StdioUpstream` behind a minimal route that plays
/// the part of `GatewayEndpoint` (the caller is `X-Test-Subject`, so one test can be two users).
enum StdioFixture {
    static let key = [UInt8](repeating: 9, count: 32)
    static let resource = "http://localhost:8000/mcp/files"

    /// `GATEHOUSE_PYTHON` (scripts/test.sh sets the venv's, which has the `mcp` SDK), else `python3`.
    static var python: String { ProcessInfo.processInfo.environment["GATEHOUSE_PYTHON"] ?? "python3" }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("e2e/upstreams/stdio_upstream.py").path
    }

    static var logger: Logger {
        var logger = Logger(label: "stdio-test")
        logger.logLevel = .warning
        return logger
    }

    /// Gatehouse's own environment as the pool sees it: with secrets that must not reach a child.
    static let gatehouseEnvironment = [
        "PATH": "/usr/bin:/bin", "HOME": "/tmp", "LANG": "C.UTF-8",
        "DATABASE_URL": "postgres://secret@db/gatehouse", "GATEHOUSE_KEY_ENCRYPTION_KEY": "secret",
    ]

    static func settings(_ configure: (inout StdioProcessPool.Settings) -> Void = { _ in }) -> StdioProcessPool.Settings {
        var settings = StdioProcessPool.Settings(command: [python, script])
        settings.environment = ["GREETING": "hello from the config"]
        settings.requestTimeout = .seconds(20)
        settings.grace = .seconds(1)
        configure(&settings)
        return settings
    }

    static func pool(_ settings: StdioProcessPool.Settings = settings()) -> StdioProcessPool {
        StdioProcessPool(settings: settings, resource: "/mcp/files", logger: logger, baseEnvironment: gatehouseEnvironment)
    }

    static let usernames: [String: String] = ["alice": "Alice", "bob": "Bob"]

    /// Runs `body` with a gateway in front of `pool`; the pool is shut down afterwards.
    static func withGateway(_ pool: StdioProcessPool, _ body: (LocalServer) async throws -> Void) async throws {
        let upstream = StdioUpstream(pool: pool, sessions: GatewaySessionBinding(key: key), resource: resource,
                                     username: { usernames[$0] })
        let gateway = try await LocalServer.start { request, body, context in
            let subject = request.headers[HTTPField.Name("X-Test-Subject")!] ?? "alice"
            var headers = HTTPFields()
            for field in request.headers where GatewayEndpoint.forwardedHeaders.contains(field.name.canonicalName) {
                headers.append(field)
            }
            let identity = VerifiedIdentity(subject: subject, clientID: "client-1", scopes: .init("files:read"),
                                            tokenID: "jti-\(subject)")
            return try await upstream.handle(
                UpstreamRequest(method: request.method, headers: headers, body: body, identity: identity,
                                accessToken: "client-token", requestID: context.id),
                context: context)
        }
        do {
            try await body(gateway)
        } catch {
            await gateway.stop(); await pool.shutdown()
            throw error
        }
        await gateway.stop(); await pool.shutdown()
    }

    struct Reply: Sendable {
        let status: UInt
        let headers: HTTPHeaders
        let body: String

        /// The JSON-RPC messages of the body: one (JSON) or every SSE event's data.
        var messages: [[String: Any]] {
            let texts = headers["Content-Type"].first?.hasPrefix("text/event-stream") == true
                ? body.components(separatedBy: "\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
                : [body]
            return texts.compactMap { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] }
        }

        var last: [String: Any] { messages.last ?? [:] }
        var result: [String: Any]? { last["result"] as? [String: Any] }
        var errorCode: Int? { (last["error"] as? [String: Any])?["code"] as? Int }

        /// The decoded JSON of a tool result's first text block.
        var toolOutput: [String: Any] {
            let content = result?["content"] as? [[String: Any]]
            let text = content?.first?["text"] as? String ?? ""
            return (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        }

        var toolText: String? { ((result?["content"] as? [[String: Any]])?.first?["text"]) as? String }
    }

    static func post(_ gateway: LocalServer, _ body: String, subject: String = "alice", session: String? = nil,
                     accept: String = "application/json, text/event-stream", version: String = "2025-11-25") async throws -> Reply {
        var request = HTTPClientRequest(url: gateway.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: accept)
        request.headers.add(name: "MCP-Protocol-Version", value: version)
        request.headers.add(name: "X-Test-Subject", value: subject)
        if let session { request.headers.add(name: "Mcp-Session-Id", value: session) }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let text = String(buffer: try await response.body.collect(upTo: 32 << 20))
        return Reply(status: response.status.code, headers: response.headers, body: text)
    }

    static func initialize(id: Int = 1, version: String = "2025-11-25") -> String {
        #"{"jsonrpc":"2.0","id":\#(id),"method":"initialize","params":{"protocolVersion":"\#(version)","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#
    }

    static func call(_ tool: String, id: Int = 2, arguments: String = "{}", progressToken: String? = nil) -> String {
        let meta = progressToken.map { #","_meta":{"progressToken":\#($0)}"# } ?? ""
        return #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"\#(tool)","arguments":\#(arguments)\#(meta)}}"#
    }

    /// Whether `pid` is a live process (not exited; a zombie counts as gone).
    static func isRunning(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
        return !status.contains(") Z ")
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(within seconds: Double, _ condition: () async -> Bool) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return await condition()
    }
}
