import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOCore
import NIOFoundationCompat
import Shared

/// One gateway resource of the config file (`upstream.http` or `upstream.stdio`): the MCP
/// endpoint at its path, in front of an `MCPUpstream`. The checks run in this order, each
/// answering on its own status code, before anything reaches the upstream:
///
/// | check                                                  | failure                                   |
/// |--------------------------------------------------------|-------------------------------------------|
/// | Host, when bound to loopback (LoopbackHostMiddleware)  | 403                                       |
/// | Origin (MCPOriginMiddleware, on these routes)          | 403                                       |
/// | MCP-Protocol-Version is a version (passed through)     | 400                                       |
/// | bearer token for THIS resource (`aud`)                 | 401 + WWW-Authenticate (503 if revocation status is unknown) |
/// | POST body ≤ 1 MiB and one JSON-RPC message             | 413 / 400                                 |
/// | `Mcp-Method` / `Mcp-Name` agree with the body          | 400                                       |
/// | `tools/call`: a `tools` rule matches the tool          | 403 (JSON-RPC error)                      |
/// | `tools/call`: the token has the rule's scopes          | 403 insufficient_scope + WWW-Authenticate |
/// | `tools/call`: the caller has the resource's `connections:` | tool error with the connect link, or -32042 for a URL-mode elicitation session (`ConnectionElicitation`) |
///
/// `tools/list` and every other method pass through untouched: what a caller may call is decided
/// here, at the call, by the same rules whatever the upstream lists.
struct GatewayEndpoint: Sendable {
    let resource: ProtectedResourceCatalog.Resource
    let authentication: MCPEndpoint.Authentication
    let challenge: BearerChallenge
    let upstream: any MCPUpstream
    let audit: DeniedCallAudit?
    /// The resource's `connections:` (issue 12); nil when it names none.
    let connections: GatewayConnections?
    /// URL-mode elicitation for a call refused for a missing connection; nil without connections.
    let elicitation: ConnectionElicitation?

    static let maximumBodySize = MCPEndpoint.maximumBodySize

    /// What the Streamable HTTP transport needs; everything else the client sent (credentials,
    /// cookies, `X-Gatehouse-*`, proxy headers) stays here. Lowercased.
    static let forwardedHeaders: Set<String> = [
        "accept", "content-type", "mcp-protocol-version", "mcp-session-id", "last-event-id", "mcp-method", "mcp-name",
        "user-agent",
    ]

    init(resource: ProtectedResourceCatalog.Resource, authentication: MCPEndpoint.Authentication,
         challenge: BearerChallenge, upstream: any MCPUpstream, audit: DeniedCallAudit?,
         connections: GatewayConnections?, elicitation: ConnectionElicitation?) {
        self.resource = resource
        self.authentication = authentication
        self.challenge = challenge
        self.upstream = upstream
        self.audit = audit
        self.connections = connections
        self.elicitation = elicitation
    }

    /// `router` is the group carrying `MCPOriginMiddleware`; preflights are answered there.
    func addRoutes<Context: RequestContext>(to router: RouterGroup<Context>, path: String) {
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on(RouterPath(path), method: method) { request, context in try await self.handle(request, context: context) }
        }
        router.on(RouterPath(path), method: .options) { _, _ in Response(status: .noContent) }
        for method in [HTTPRequest.Method.put, .patch] {
            router.on(RouterPath(path), method: method) { _, _ in
                JSONRPCErrorResponse.make(status: .methodNotAllowed, code: -32600, message: "Method Not Allowed",
                                          headers: [.allow: "POST, GET, DELETE, OPTIONS"])
            }
        }
    }

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let started = DispatchTime.now()
        let label = resource.path
        defer {
            Timer(label: "gatehouse_gateway_request_duration_seconds", dimensions: [("resource", label)], preferredDisplayUnit: .seconds)
                .recordInterval(since: started)
        }
        Counter(label: "gatehouse_gateway_requests_total", dimensions: [("resource", label), ("method", request.method.rawValue)])
            .increment()
        // The upstream negotiates the version with the client; we only refuse what is not one.
        if let version = request.headers[.mcpProtocolVersion], !Self.isProtocolVersion(version) {
            return JSONRPCErrorResponse.make(status: .badRequest, code: -32600,
                                             message: "Bad Request: MCP-Protocol-Version must be a version like 2025-11-25")
        }
        let identity = try await authentication.identify(request, challenge: challenge, logger: context.logger)
        var body = ByteBuffer()
        var envelope: JSONRPCEnvelope?
        if request.method == .post {
            body = try await request.body.collect(upTo: Self.maximumBodySize)
            switch try await check(body: body, headers: request.headers, identity: identity, logger: context.logger) {
            case .refused(let refusal): return refusal
            case .passed(let passed): envelope = passed
            }
        }
        var headers = HTTPFields()
        for field in request.headers where Self.forwardedHeaders.contains(field.name.canonicalName) {
            headers.append(field)
        }
        // The client's token is kept only for the token exchange (identity.token); it is never forwarded.
        let token = (try? BearerToken.extract(from: request).get()) ?? ""
        var upstreamRequest = UpstreamRequest(method: request.method, headers: headers, body: body, identity: identity,
                                              accessToken: token, requestID: context.id)
        if envelope?.kind == .request(method: "initialize") {
            upstreamRequest.sessionFeatures = SessionCapabilities.features(ofInitialize: body)
        }
        if let connections {
            switch try await connectionTokens(connections, envelope: envelope, headers: request.headers, identity: identity,
                                              logger: context.logger) {
            case .success(let tokens): upstreamRequest.connectionTokens = tokens
            case .failure(let refusal): return refusal.response
            }
        }
        return try await upstream.handle(upstreamRequest, context: context)
    }

    /// The outcome of `check`: the parsed message, or the answer instead of the upstream's.
    private enum Checked {
        case passed(JSONRPCEnvelope)
        case refused(Response)
    }

    /// One JSON-RPC message, and for `tools/call` the `tools` rule.
    private func check(body: ByteBuffer, headers: HTTPFields, identity: VerifiedIdentity, logger: Logger) async throws -> Checked {
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.parse(Data(buffer: body, byteTransferStrategy: .noCopy))
        } catch {
            return .refused(JSONRPCErrorResponse.make(status: .badRequest, code: error.code, message: error.message))
        }
        // MCP 2026-07-28 routes on these headers; an upstream that trusts them must see the same
        // method and tool the scope check saw.
        if let method = headers[UpstreamHeaderNames.mcpMethod], method != envelope.method {
            return .refused(JSONRPCErrorResponse.make(status: .badRequest, code: -32600,
                                                      message: "Bad Request: Mcp-Method does not match the body"))
        }
        guard envelope.kind == .request(method: "tools/call") || envelope.kind == .notification(method: "tools/call") else {
            return .passed(envelope)
        }
        guard let tool = envelope.toolName else {
            return .refused(JSONRPCErrorResponse.make(status: .badRequest, code: -32602,
                                                      message: "Invalid params: tools/call needs params.name"))
        }
        if let name = headers[UpstreamHeaderNames.mcpName], name != tool {
            return .refused(JSONRPCErrorResponse.make(status: .badRequest, code: -32600,
                                                      message: "Bad Request: Mcp-Name does not match the body"))
        }
        guard let required = resource.configuration.requiredScopes(forTool: tool) else {
            await deny(tool: tool, reason: "no_rule", identity: identity, logger: logger)
            return .refused(JSONRPCErrorResponse.make(status: .forbidden, code: -32600,
                                                      message: "Forbidden: the tool \(tool) is not allowed by this gateway's configuration"))
        }
        guard identity.has(scopes: required) else {
            await deny(tool: tool, reason: "insufficient_scope", identity: identity, logger: logger)
            throw challenge.insufficientScope(required: required, granted: identity.scopes, tool: tool)
        }
        return .passed(envelope)
    }

    /// Every refused call is counted, logged with who, what and why (JSON logs carry the request
    /// id), and recorded in `audit_events`.
    private func deny(tool: String, reason: String, identity: VerifiedIdentity, logger: Logger) async {
        Counter(label: "gatehouse_gateway_denied_total", dimensions: [("resource", resource.path), ("reason", reason)]).increment()
        logger.notice("gateway tool call refused", metadata: [
            "event": "tool_call_denied", "resource": "\(resource.path)", "tool": "\(tool)", "reason": "\(reason)",
            "sub": "\(identity.subject)", "client_id": "\(identity.clientID)", "jti": "\(identity.tokenID)",
        ])
        await audit?.record(resource: resource.path, tool: tool, reason: reason, identity: identity)
    }

    /// `YYYY-MM-DD`, as every MCP version is written.
    static func isProtocolVersion(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard bytes.count == 10 else { return false }
        return bytes.enumerated().allSatisfy { index, byte in
            index == 4 || index == 7 ? byte == UInt8(ascii: "-") : (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
        }
    }
}

/// The MCP 2026-07-28 routing headers.
enum UpstreamHeaderNames {
    static let mcpMethod = HTTPField.Name("Mcp-Method")!
    static let mcpName = HTTPField.Name("Mcp-Name")!
}
