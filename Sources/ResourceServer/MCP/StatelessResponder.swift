import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import Shared

/// Answers a validated MCP 2026-07-28 request for the built-in tools.
///
/// The revision's methods here are `server/discover` (answered by `ServerDiscovery`), `tools/list`
/// and `tools/call`. The tool calls still run through the SDK's stateless server, which speaks
/// 2025-11-25: the body goes to it as it came (the per-request `_meta` is just metadata there),
/// framed with the 2025-11-25 header, and its result gets the 2026-07-28 stamp. Every other method
/// (`initialize` and `ping` included: the revision removed them) is -32601 with 404, and a
/// JSON-RPC error the SDK answers with keeps its code and gets that code's status.
struct StatelessResponder: Sendable {
    let server: MCPSessionlessServer
    let toolList: ToolListCache
    let directCall: DirectToolCall
    let discovery = ServerDiscovery()
    let stamp: StatelessResultStamp

    init(server: MCPSessionlessServer, toolList: ToolListCache, directCall: DirectToolCall) {
        self.server = server
        self.toolList = toolList
        self.directCall = directCall
        self.stamp = StatelessResultStamp(server: server)
    }

    func respond(to request: StatelessRequest, envelope: JSONRPCEnvelope, http: Request, body: Data,
                 as identity: VerifiedIdentity, logger: Logger) async throws -> Response {
        let sdkRequest = MCP.HTTPRequest(method: "POST", headers: Self.sdkHeaders(http.headers), body: body, path: http.uri.path)
        // Accept and Content-Type, as the SDK checks them for the 2025 path (406 / 415).
        let context = HTTPValidationContext(httpMethod: "POST", isInitializationRequest: false)
        for validator in [AcceptsJSONValidator(), ContentTypeValidator()] as [any HTTPRequestValidator] {
            if let refusal = validator.validate(sdkRequest, context: context) { return HTTPResponseAdapter.response(from: refusal) }
        }
        guard case .request(let method, let id) = request.kind else {
            return Response(status: .accepted, headers: [.cacheControl: "no-store"])
        }
        switch method {
        case "server/discover":
            return Self.render(["jsonrpc": "2.0", "id": Self.decodeID(id), "result": stamp.stamp(discovery.result, method: method)],
                               status: .ok)
        case "tools/list" where !envelope.hasCursor:
            if let cached = await toolList.response(idJSON: id, logger: logger) { return stamped(cached, method: method) }
            return stamped(try await server.handle(sdkRequest, as: identity, logger: logger), method: method)
        case "tools/call":
            if let direct = await directCall.respond(body: body, idJSON: id, as: identity, logger: logger) {
                return stamped(direct, method: method)
            }
            return stamped(try await server.handle(sdkRequest, as: identity, logger: logger), method: method)
        case "tools/list":
            return stamped(try await server.handle(sdkRequest, as: identity, logger: logger), method: method)
        default:
            return StatelessRejection.methodNotFound(method, id: id).response
        }
    }

    /// The SDK's JSON-RPC answer in 2026-07-28 form. What is not a JSON-RPC answer with status 200
    /// (the SDK's own 4xx, a 504 timeout) goes out as it is.
    private func stamped(_ answer: MCP.HTTPResponse, method: String) -> Response {
        guard answer.statusCode == 200, let data = answer.bodyData,
              var message = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return HTTPResponseAdapter.response(from: answer) }
        if let result = message["result"] as? [String: Any] {
            message["result"] = stamp.stamp(result, method: method)
            return Self.render(message, status: .ok)
        }
        let code = (message["error"] as? [String: Any])?["code"] as? Int
        return Self.render(message, status: code.map(StatelessRejection.httpStatus(forErrorCode:)) ?? .ok)
    }

    /// The request's headers, minus credentials (as for the 2025 path), with the version the SDK speaks.
    static func sdkHeaders(_ fields: HTTPFields) -> [String: String] {
        var headers = MCPEndpoint.forwardedHeaders(fields).filter { $0.key.lowercased() != "mcp-protocol-version" }
        headers["MCP-Protocol-Version"] = MCPEndpoint.latestProtocolVersion
        return headers
    }

    private static func decodeID(_ idJSON: String) -> Any {
        (try? JSONSerialization.jsonObject(with: Data(idJSON.utf8), options: .fragmentsAllowed)) ?? NSNull()
    }

    private static func render(_ message: [String: Any], status: HTTPResponse.Status) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: message, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
