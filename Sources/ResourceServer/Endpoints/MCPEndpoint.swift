import Foundation
import HTTPTypes
import Hummingbird
import Logging
import MCP
import NIOFoundationCompat
import Metrics
import Shared

/// `POST /mcp`: the Streamable HTTP transport, stateless. The checks run in this order, each
/// answering on its own status code:
///
/// | check                                                | failure                                   |
/// |------------------------------------------------------|-------------------------------------------|
/// | Host, when bound to loopback (LoopbackHostMiddleware) | 403                                       |
/// | Origin (MCPOriginMiddleware, on these routes)         | 403                                       |
/// | MCP-Protocol-Version                                  | 400                                       |
/// | bearer token (query-string token: 400 invalid_request) | 401 + WWW-Authenticate (503 if revocation status is unknown) |
/// | body is one JSON-RPC message                          | 400 / 413                                 |
/// | 2026-07-28 only: `_meta` and headers (StatelessRequest) | 400 -32602 / -32020 / -32022             |
/// | tools/call scope                                      | 403 insufficient_scope + WWW-Authenticate |
/// | Accept / Content-Type (SDK)                           | 406 / 415                                 |
///
/// 2025-06-18 and 2025-11-25 go to the SDK as before; 2026-07-28 (stateless: no `initialize`,
/// `server/discover`, `resultType`) is answered by `StatelessResponder`.
struct MCPEndpoint: Sendable {
    enum Authentication: Sendable {
        case bearer(TokenValidator)
        /// GATEHOUSE_INSECURE_DISABLE_AUTH: benchmarks only.
        case disabled(VerifiedIdentity)
    }

    let authentication: Authentication
    let challenge: BearerChallenge
    let server: MCPSessionlessServer
    let tools: ToolCatalog
    let toolList: ToolListCache
    let directCall: DirectToolCall
    let stateless: StatelessResponder
    /// The resource's `connections:` (issue 12), handed to the built-in tools through
    /// `VerifiedIdentity.connections`; nil when it names none.
    let connections: GatewayConnections?

    /// MCP transports: "If the server receives a request with an invalid or unsupported
    /// MCP-Protocol-Version, it MUST respond with 400 Bad Request."
    static let supportedProtocolVersions: Set<String> = ["2025-06-18", "2025-11-25", StatelessRequest.revision]
    /// Older handshake revisions keep their plain 400; any other unknown value gets 2026-07-28's
    /// UnsupportedProtocolVersion error, whose `data.supported` lets a client retry at one we serve.
    static let retiredProtocolVersions: Set<String> = ["2024-11-05", "2025-03-26"]
    static let latestProtocolVersion = "2025-11-25"
    static let maximumBodySize = 1 << 20

    private let requests = Counter(label: "gatehouse_rs_mcp_requests_total")

    init(authentication: Authentication, challenge: BearerChallenge, server: MCPSessionlessServer, tools: ToolCatalog,
         connections: GatewayConnections? = nil) {
        self.connections = connections
        self.authentication = authentication
        self.challenge = challenge
        self.server = server
        self.tools = tools
        self.toolList = ToolListCache(server: server)
        self.directCall = DirectToolCall(tools: tools)
        self.stateless = StatelessResponder(server: server, toolList: toolList, directCall: directCall)
    }

    /// `router` is the group carrying `MCPOriginMiddleware`; preflights are answered there.
    func addRoutes<Context: Hummingbird.RequestContext>(to router: RouterGroup<Context>, path: String) {
        router.post(RouterPath(path)) { request, context in try await self.post(request, context: context) }
        router.on(RouterPath(path), method: .options) { _, _ in Response(status: .noContent) }
        // "The server MUST either return Content-Type: text/event-stream in response to this HTTP GET,
        // or else return HTTP 405 Method Not Allowed" — stateless, so no stream and no sessions to DELETE.
        for method in [HTTPRequest.Method.get, .delete, .put, .patch] {
            router.on(RouterPath(path), method: method) { _, _ in
                JSONRPCErrorResponse.make(status: .methodNotAllowed, code: -32600, message: "Method Not Allowed",
                                          headers: [.allow: "POST, OPTIONS"])
            }
        }
    }

    func post(_ request: Request, context: some Hummingbird.RequestContext) async throws -> Response {
        requests.increment()
        if let version = request.headers[.mcpProtocolVersion], !Self.supportedProtocolVersions.contains(version) {
            guard Self.retiredProtocolVersions.contains(version) else {
                return StatelessRejection.unsupportedProtocolVersion(version, supported: Self.supportedProtocolVersions.sorted()).response
            }
            return JSONRPCErrorResponse.make(
                status: .badRequest, code: -32600,
                message: "Bad Request: unsupported MCP-Protocol-Version; supported: \(Self.supportedProtocolVersions.sorted().joined(separator: ", "))")
        }
        var identity = try await authenticate(request, logger: context.logger)
        if let connections {
            identity.connections = CallerConnections(connections, subject: identity.subject, logger: context.logger)
        }
        let body = try await request.body.collect(upTo: Self.maximumBodySize)
        var data = Data(buffer: body)
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.parse(data)
        } catch {
            return JSONRPCErrorResponse.make(status: .badRequest, code: error.code, message: error.message)
        }
        var statelessRequest: StatelessRequest?
        if StatelessRequest.applies(to: request.headers, envelope: envelope) {
            switch StatelessRequest.validate(envelope, body: data, headers: request.headers) {
            case .success(let validated): statelessRequest = validated
            case .failure(let rejection): return rejection.response
            }
        }
        if let name = envelope.toolName, let tool = tools.definition(named: name), !identity.has(scopes: tool.requiredScopes) {
            context.logger.info("tool call refused: insufficient scope",
                                metadata: ["tool": "\(name)", "sub": "\(identity.subject)", "client_id": "\(identity.clientID)"])
            throw challenge.insufficientScope(required: tool.requiredScopes, granted: identity.scopes, tool: name)
        }
        if let statelessRequest {
            return try await stateless.respond(to: statelessRequest, envelope: envelope, http: request, body: data,
                                               as: identity, logger: context.logger)
        }
        if let requested = envelope.requestedProtocolVersion, !Self.supportedProtocolVersions.contains(requested) {
            data = InitializeRewriter.offering(Self.latestProtocolVersion, in: data)
        }
        let mcpRequest = MCP.HTTPRequest(method: "POST", headers: Self.forwardedHeaders(request.headers), body: data,
                                         path: request.uri.path)
        // The static tool list comes from the SDK once and is reused; requests the SDK would refuse
        // (Accept or Content-Type wrong) or paginate still go to it.
        if envelope.kind == .request(method: "tools/list"), !envelope.hasCursor, let id = envelope.idJSON,
           Self.wellFormedForCache(mcpRequest),
           let cached = await toolList.response(idJSON: id, logger: context.logger) {
            return HTTPResponseAdapter.response(from: cached)
        }
        // tools/call of a tool we have, without the SDK's per-string regex (DirectToolCall.swift).
        if envelope.kind == .request(method: "tools/call"), let id = envelope.idJSON, Self.wellFormedForCache(mcpRequest),
           let direct = await directCall.respond(body: data, idJSON: id, as: identity, logger: context.logger) {
            return HTTPResponseAdapter.response(from: direct)
        }
        let response = try await server.handle(mcpRequest, as: identity, logger: context.logger)
        return HTTPResponseAdapter.response(from: response)
    }

    /// The token decides who the caller is; failures become RFC 6750 challenges.
    private func authenticate(_ request: Request, logger: Logger) async throws -> VerifiedIdentity {
        try await authentication.identify(request, challenge: challenge, logger: logger)
    }

    /// The headers the SDK's validators would accept for a JSON POST.
    static func wellFormedForCache(_ request: MCP.HTTPRequest) -> Bool {
        let context = HTTPValidationContext(httpMethod: "POST", isInitializationRequest: false)
        return AcceptsJSONValidator().validate(request, context: context) == nil
            && request.header("Content-Type")?.lowercased().hasPrefix("application/json") == true
    }

    /// Everything the SDK needs, minus credentials: the token has done its job and goes no further.
    static func forwardedHeaders(_ fields: HTTPFields) -> [String: String] {
        var headers: [String: String] = [:]
        for field in fields where field.name != .authorization && field.name != .cookie {
            headers[field.name.canonicalName] = headers[field.name.canonicalName].map { "\($0), \(field.value)" } ?? field.value
        }
        return headers
    }
}

extension HTTPField.Name {
    static let mcpProtocolVersion = HTTPField.Name("MCP-Protocol-Version")!
}
