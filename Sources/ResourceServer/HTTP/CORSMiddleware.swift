import HTTPTypes
import Hummingbird

/// Origin validation and CORS for the MCP endpoint; open CORS (`*`) for the public metadata documents.
///
/// MCP transports (2025-11-25, Security Warning): "Servers MUST validate the Origin header on all
/// incoming connections to prevent DNS rebinding attacks … If the Origin header is present and
/// invalid, servers MUST respond with HTTP 403 Forbidden." Requests without `Origin` come from
/// non-browser clients and pass. Preflights are answered here, before (and without) authentication,
/// and every MCP response, 401s included, exposes `WWW-Authenticate` so a browser client can read
/// the challenge.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>
    let mcpPath: String
    /// Paths served to anyone, from any origin (the RFC 9728 documents).
    let publicPaths: Set<String>

    static var allowMethods: String { "GET, POST, DELETE, OPTIONS" }
    static var allowHeaders: String {
        "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Last-Event-ID"
    }
    static var exposeHeaders: String { "WWW-Authenticate, Mcp-Session-Id" }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        if path == mcpPath { return try await handleMCP(request, context: context, next: next) }
        guard publicPaths.contains(path) else { return try await next(request, context) }
        if request.method == .options {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: "*",
                .accessControlAllowMethods: "GET, OPTIONS",
                .accessControlAllowHeaders: Self.allowHeaders,
                .accessControlMaxAge: "600",
            ])
        }
        var response = try await respond(request, context: context, next: next)
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }

    private func handleMCP(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
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
            cors[.accessControlAllowHeaders] = Self.allowHeaders
            cors[.accessControlExposeHeaders] = Self.exposeHeaders
            cors[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: cors)
        }
        var response = try await respond(request, context: context, next: next)
        if origin != nil { cors[.accessControlExposeHeaders] = Self.exposeHeaders }
        for field in cors { response.headers[field.name] = field.value }
        return response
    }

    /// Runs the rest of the chain, rendering a thrown `HTTPResponseError` here so it gets CORS headers too.
    private func respond(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }
}
