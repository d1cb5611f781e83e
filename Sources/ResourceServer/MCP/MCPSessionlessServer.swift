import Foundation
import Logging
import MCP
import Shared

/// Runs one JSON-RPC message through a fresh MCP `Server` and `StatelessHTTPServerTransport`.
///
/// One Server per HTTP request, never a shared one: the stateless transport matches responses to
/// waiting requests by JSON-RPC id, so two clients both sending `"id": 1` through a shared instance
/// would receive each other's answers. A fresh pair per request also means no state survives between
/// requests, so any replica behind a round-robin load balancer can answer any request, and the
/// caller's identity is captured by this Server's handlers rather than looked up from headers.
struct MCPSessionlessServer: Sendable {
    let name: String
    let title: String
    let version: String
    let tools: ToolCatalog
    /// A request the SDK has not answered by then is abandoned with a 504.
    var timeout: Duration = .seconds(30)

    /// What `initialize` (2025) and `server/discover` (2026-07-28) both announce.
    static let capabilities = Server.Capabilities(tools: .init(listChanged: false))
    var info: Server.Info { Server.Info(name: name, version: version, title: title) }

    /// `logger` is the request's logger (it carries the request id).
    func handle(_ request: MCP.HTTPRequest, as identity: VerifiedIdentity, logger: Logger) async throws -> MCP.HTTPResponse {
        let server = Server(name: name, version: version, title: title, capabilities: Self.capabilities)
        let tools = self.tools
        await server.withMethodHandler(ListTools.self) { _ in tools.listResult }
        await server.withMethodHandler(CallTool.self) { parameters in
            try await tools.call(parameters, as: identity, logger: logger)
        }
        // Accept and Content-Type are checked by the SDK; Origin and MCP-Protocol-Version were already
        // checked by our middleware and endpoint (the SDK's default Origin check would refuse any
        // non-localhost Host with 421).
        let transport = StatelessHTTPServerTransport(
            validationPipeline: StandardValidationPipeline(validators: [AcceptsJSONValidator(), ContentTypeValidator()]),
            logger: logger)
        try await server.start(transport: transport)
        let response = await respond(to: request, with: transport)
        await server.stop()
        return response
    }

    /// `withDeadline`, not a task group: a group waits for its children, and the SDK's
    /// `handleRequest` does not end on cancellation while it waits for an answer that never comes
    /// (a message it takes for a response), so the 504 never came and the request stayed open,
    /// holding up the graceful shutdown (found by schemathesis, docs/testing.md).
    private func respond(to request: MCP.HTTPRequest, with transport: StatelessHTTPServerTransport) async -> MCP.HTTPResponse {
        do {
            return try await withDeadline(timeout) { await transport.handleRequest(request) }
        } catch {
            return .error(statusCode: 504, .internalError("the request timed out"))
        }
    }
}

/// POST requests must accept JSON. Unlike the SDK's `AcceptHeaderValidator`, wildcards count
/// (`*/*`, `application/*`), and a missing header means "anything" (RFC 9110 §12.5.1).
struct AcceptsJSONValidator: HTTPRequestValidator {
    func validate(_ request: MCP.HTTPRequest, context: HTTPValidationContext) -> MCP.HTTPResponse? {
        guard let accept = request.header("Accept") else { return nil }
        let types = accept.split(separator: ",").map {
            $0.split(separator: ";").first.map { $0.trimmingASCIIWhitespace.lowercased() } ?? ""
        }
        if types.contains(where: { ["application/json", "application/*", "*/*"].contains($0) }) { return nil }
        return .error(statusCode: 406, .invalidRequest("Not Acceptable: Client must accept application/json"))
    }
}
