import Hummingbird
import HTTPTypes
import NIOCore

/// One client request, authenticated and scope-checked, on its way to an upstream MCP server.
struct UpstreamRequest: Sendable {
    var method: HTTPRequest.Method     // POST, GET (SSE stream) or DELETE
    /// Already filtered by the gateway: no Authorization, no Cookie, no X-Gatehouse-*; what remains
    /// is what MCP needs (Accept, Content-Type, MCP-Protocol-Version, Mcp-Session-Id, Last-Event-ID, Mcp-Method, Mcp-Name).
    var headers: HTTPFields
    /// The JSON-RPC bytes exactly as the client sent them (POST); empty for GET/DELETE.
    var body: ByteBuffer
    var identity: VerifiedIdentity     // the verified caller (subject, username?, client, scopes, token id)
    var accessToken: String            // the client's token: ONLY for RFC 8693 exchange, never forwarded
    var requestID: String              // for logs
    /// The caller's current token for each of the resource's `connections:` (issue 12), for the
    /// upstream's `X-Gatehouse-Connection-<id>` header or `GATEHOUSE_CONNECTION_<ID>_TOKEN`.
    var connectionTokens: [ConnectionToken] = []
    /// For an `initialize`: what the client declared (`SessionCapabilities`), sealed into the
    /// session id the answer creates. Nil for every other request: a session id the upstream
    /// hands out later keeps the features of the session it was presented with.
    var sessionFeatures: GatewaySessionBinding.Features? = nil
}

/// An upstream MCP server behind the gateway (Streamable HTTP or stdio), one per configured resource.
protocol MCPUpstream: Sendable {
    /// Streams the upstream's answer back as it comes (JSON or SSE). Never hangs: times out, answers
    /// 503 with a JSON-RPC error when the upstream is down.
    func handle(_ request: UpstreamRequest, context: some RequestContext) async throws -> Response
}
