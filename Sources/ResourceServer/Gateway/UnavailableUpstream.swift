import Hummingbird

/// An upstream that cannot be reached: every request is answered 503 with a JSON-RPC error at once,
/// never a hang. Used for a configured upstream kind this build does not serve.
struct UnavailableUpstream: MCPUpstream {
    let resource: String
    let kind: String

    func handle(_ request: UpstreamRequest, context: some RequestContext) async throws -> Response {
        context.logger.error("gateway upstream unavailable", metadata: ["resource": "\(resource)", "upstream": "\(kind)"])
        return JSONRPCErrorResponse.make(status: .serviceUnavailable, code: -32603,
                                         message: "Service Unavailable: the upstream MCP server is not available",
                                         headers: [.retryAfter: "1"])
    }
}
