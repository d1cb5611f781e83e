import HTTPTypes
import Hummingbird

/// Origin validation and CORS for the MCP endpoint, added to the MCP routes themselves (a router
/// group), not matched by path string: the router also sends `/mcp/`, `//mcp` and `/mcp//` to the
/// MCP handler, and a path comparison in a global middleware let those through unchecked. Bound to
/// the routes, the check runs on every request the handler serves, whatever spelling reached it.
///
/// MCP transports (2025-11-25, Security Warning): "Servers MUST validate the Origin header on all
/// incoming connections to prevent DNS rebinding attacks … If the Origin header is present and
/// invalid, servers MUST respond with HTTP 403 Forbidden." Requests without `Origin` come from
/// non-browser clients and pass. Preflights are answered here, before (and without) authentication,
/// and every MCP response, 401s included, exposes `WWW-Authenticate` so a browser client can read
/// the challenge.
struct MCPOriginMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    static var allowMethods: String { "GET, POST, DELETE, OPTIONS" }
    static var exposeHeaders: String { "WWW-Authenticate, Mcp-Session-Id" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let origin = request.headers[.origin]
        if let origin, !allowedOrigins.contains(origin.lowercased()) {
            context.logger.info("refused request from an origin not in GATEHOUSE_ALLOWED_ORIGINS", metadata: ["origin": "\(origin)"])
            return JSONRPCErrorResponse.make(status: .forbidden, code: -32600, message: "Forbidden: Origin not allowed")
        }
        var cors = HTTPFields()
        if let origin {
            cors[.accessControlAllowOrigin] = origin
            cors[.vary] = "Origin"
        }
        if request.method == .options {
            cors[.accessControlAllowMethods] = Self.allowMethods
            cors[.accessControlAllowHeaders] = CORSMiddleware<Context>.allowHeaders
            cors[.accessControlExposeHeaders] = Self.exposeHeaders
            cors[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: cors)
        }
        var response = try await CORSMiddleware<Context>.respond(request, context: context, next: next)
        if origin != nil { cors[.accessControlExposeHeaders] = Self.exposeHeaders }
        for field in cors { response.headers[field.name] = field.value }
        return response
    }
}
