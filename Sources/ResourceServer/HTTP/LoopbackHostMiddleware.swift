import HTTPTypes
import Hummingbird
import Shared

/// DNS-rebinding protection for a resource server bound to loopback: a request whose `Host` is
/// neither a loopback name nor the host of the configured MCP resource is refused with 403.
///
/// MCP transports (2025-11-25, Security Warning): "When running locally, servers SHOULD bind only
/// to localhost (127.0.0.1) rather than all network interfaces (0.0.0.0)", and DNS rebinding is
/// what makes that insufficient alone: a page on `http://attacker.example:8000` whose name is
/// re-pointed at 127.0.0.1 reaches the local server, but its requests still say
/// `Host: attacker.example:8000`. Loopback is exactly an IPv4 literal in 127.0.0.0/8, `[::1]`, or
/// `localhost` (`HTTPURL.isLoopbackHost`). The resource's own host stays allowed, because a
/// reverse proxy on the same machine (deploy/systemd) forwards the public `Host`. A request
/// without `Host` (HTTP/1.0 tools) does not come from a browser and passes.
struct LoopbackHostMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The host of GATEHOUSE_MCP_RESOURCE, lowercased, brackets kept for IPv6.
    let resourceHost: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authority = request.head.authority else { return try await next(request, context) }
        let host = Self.host(ofAuthority: authority)
        if host == resourceHost || HTTPURL.isLoopbackHost(host) { return try await next(request, context) }
        context.logger.info("refused request for a Host that is not loopback (DNS rebinding?)", metadata: ["host": "\(authority)"])
        return JSONRPCErrorResponse.make(status: .forbidden, code: -32600, message: "Forbidden: Host not allowed")
    }

    /// `host[:port]` → `host`, lowercased; `[v6][:port]` → `[v6]`.
    static func host(ofAuthority authority: String) -> String {
        let lowered = authority.lowercased()
        if lowered.hasPrefix("["), let close = lowered.firstIndex(of: "]") {
            return String(lowered[...close])
        }
        if let colon = lowered.lastIndex(of: ":") { return String(lowered[..<colon]) }
        return lowered
    }
}
