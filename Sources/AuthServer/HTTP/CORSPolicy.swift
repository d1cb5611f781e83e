import Hummingbird

/// Credential-less CORS for the endpoints browser clients (the MCP Inspector) call directly:
/// metadata, JWKS, registration, token and revocation. Preflights are answered without
/// authentication. Authorize, login and consent are navigations and get no CORS at all.
struct CORSPolicy<Context: RequestContext>: RouterMiddleware {
    let paths: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard paths.contains(request.uri.path), request.headers[.origin] != nil else {
            return try await next(request, context)
        }
        if request.method == .options {
            return Response(status: .noContent, headers: [
                .accessControlAllowOrigin: "*",
                .accessControlAllowMethods: "GET, POST, OPTIONS",
                .accessControlAllowHeaders: "Authorization, Content-Type, MCP-Protocol-Version, Accept",
                .accessControlMaxAge: "86400",
            ])
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = "*"
        response.headers[.accessControlExposeHeaders] = "WWW-Authenticate, Retry-After"
        return response
    }
}
