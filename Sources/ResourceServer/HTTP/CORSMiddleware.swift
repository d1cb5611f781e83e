import HTTPTypes
import Hummingbird

/// Open CORS (`*`) for the public metadata documents. The MCP endpoint's Origin check and CORS are
/// `MCPOriginMiddleware`, attached to the MCP routes themselves.
struct CORSMiddleware<Context: RequestContext>: RouterMiddleware {
    /// Paths served to anyone, from any origin (the RFC 9728 documents).
    let publicPaths: Set<String>

    /// `Mcp-Method` and `Mcp-Name` are the routing headers every MCP 2026-07-28 POST carries.
    static var allowHeaders: String {
        "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard publicPaths.contains(request.uri.path) else { return try await next(request, context) }
        if request.method == .options {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: "*",
                .accessControlAllowMethods: "GET, OPTIONS",
                .accessControlAllowHeaders: Self.allowHeaders,
                .accessControlMaxAge: "600",
            ])
        }
        var response = try await Self.respond(request, context: context, next: next)
        response.headers[.accessControlAllowOrigin] = "*"
        return response
    }

    /// Runs the rest of the chain, rendering a thrown `HTTPResponseError` here so it gets CORS headers too.
    static func respond(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as any HTTPResponseError {
            return try error.response(from: request, context: context)
        }
    }
}
