import Foundation
import TestSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Shared
@testable import ResourceServer

/// Starts the real resource server (the production builder, port 0, real Postgres from
/// DATABASE_URL) against a stand-in authorization server, and hands the test an MCP-aware client.
enum ResourceServerHarness {
    static let resource = "http://localhost:8000/mcp"
    static let metadataURL = "http://localhost:8000/.well-known/oauth-protected-resource/mcp"

    static var logger: Logger {
        var logger = Logger(label: "rs-test")
        logger.logLevel = .error
        return logger
    }

    static func configuration(issuer: String, overrides: [String: String] = [:]) throws -> ResourceServerConfiguration {
        var values = ProcessInfo.processInfo.environment.filter { $0.key == "DATABASE_URL" }
        guard values["DATABASE_URL"] != nil else {
            throw TestSetupError("DATABASE_URL is not set: export DATABASE_URL=postgres://… before swift test")
        }
        values["GATEHOUSE_RS_PORT"] = "0"
        // Dozens of these servers run at once: with the production pool (20) they exhausted
        // PostgreSQL's max_connections, a server then failed to start, and HummingbirdTesting's
        // live mode waits for its port forever (the whole run stalled, idle).
        values["DATABASE_MAX_CONNECTIONS"] = "4"
        values["GATEHOUSE_ISSUER"] = issuer
        values.merge(overrides) { $1 }
        return try ResourceServerConfiguration(environment: Environment(values))
    }

    static func withServer<T: Sendable>(
        authorizationServer: StandInAuthorizationServer,
        clock: TestClock,
        overrides: [String: String] = [:],
        _ body: @escaping @Sendable (MCPTestClient) async throws -> T
    ) async throws -> T {
        let configuration = try configuration(issuer: authorizationServer.issuer, overrides: overrides)
        let app = try await buildResourceServer(configuration: configuration, logger: logger, clock: clock.clock)
        return try await app.test(.live) { client in try await body(MCPTestClient(client: client)) }
    }

    /// The one entry point of most tests: the real resource server against a fresh stand-in
    /// authorization server publishing `keys`, both stopped when `body` returns.
    static func withServer<T: Sendable>(
        clock: TestClock,
        publishing keys: [RSAKey] = [TestKeys.primary],
        overrides: [String: String] = [:],
        _ body: @escaping @Sendable (StandInAuthorizationServer, MCPTestClient) async throws -> T
    ) async throws -> T {
        try await StandInAuthorizationServer.withRunning(publishing: keys) { authorizationServer in
            try await withServer(authorizationServer: authorizationServer, clock: clock, overrides: overrides) { client in
                try await body(authorizationServer, client)
            }
        }
    }
}

/// Speaks just enough MCP over HTTP for the tests.
struct MCPTestClient: Sendable {
    let client: any TestClientProtocol

    struct Reply: Sendable {
        let response: TestResponse
        var status: HTTPResponse.Status { response.status }
        var headers: HTTPFields { response.headers }
        var body: String { String(buffer: response.body) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
        var result: [String: Any]? { json["result"] as? [String: Any] }
        var errorCode: Int? { (json["error"] as? [String: Any])?["code"] as? Int }
        var challenge: String? { headers[.wwwAuthenticate] }

        /// The decoded JSON of a tool result's first text block.
        var toolOutput: [String: Any] {
            guard let content = result?["content"] as? [[String: Any]], let text = content.first?["text"] as? String,
                  let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            else { return [:] }
            return object
        }
        var toolText: String { ((result?["content"] as? [[String: Any]])?.first?["text"] as? String) ?? "" }
        var isToolError: Bool { result?["isError"] as? Bool ?? false }
    }

    static let standardHeaders: HTTPFields = [
        .contentType: "application/json",
        .accept: "application/json, text/event-stream",
        HTTPField.Name("MCP-Protocol-Version")!: "2025-11-25",
    ]

    func post(body: String, token: String?, headers extra: HTTPFields = [:], path: String = "/mcp") async throws -> Reply {
        var headers = Self.standardHeaders
        if let token { headers[.authorization] = "Bearer \(token)" }
        for field in extra { headers[field.name] = field.value }
        let response = try await client.executeRequest(uri: path, method: .post, headers: headers,
                                                       body: ByteBuffer(string: body))
        return Reply(response: response)
    }

    func request(_ method: String, params: [String: Any] = [:], token: String?, headers: HTTPFields = [:]) async throws -> Reply {
        let message: [String: Any] = ["jsonrpc": "2.0", "id": Int.random(in: 1...1_000_000), "method": method, "params": params]
        let body = try JSONSerialization.data(withJSONObject: message)
        return try await post(body: String(decoding: body, as: UTF8.self), token: token, headers: headers)
    }

    func callTool(_ name: String, _ arguments: [String: Any] = [:], token: String?) async throws -> Reply {
        try await request("tools/call", params: ["name": name, "arguments": arguments], token: token)
    }

    func send(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:]) async throws -> Reply {
        Reply(response: try await client.executeRequest(uri: path, method: method, headers: headers, body: nil))
    }
}
