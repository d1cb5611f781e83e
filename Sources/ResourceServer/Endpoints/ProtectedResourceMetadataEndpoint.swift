import Foundation
import Hummingbird
import Shared

/// The RFC 9728 protected resource metadata document.
///
/// RFC 9728 §3.3: "The value of the resource metadata parameter MUST be identical to the protected
/// resource's resource identifier value into which the well-known URI path suffix was inserted".
/// MCP authorization (2025-06-18): "MCP servers MUST implement the OAuth 2.0 Protected Resource
/// Metadata specification" and the document "MUST include the authorization_servers field containing
/// at least one authorization server". `authorization_servers[0]` is the issuer byte for byte: clients
/// compare it with the AS metadata `issuer` exactly, so a trailing slash here breaks them.
struct ProtectedResourceMetadataEndpoint: Sendable {
    static let wellKnownPrefix = "/.well-known/oauth-protected-resource"

    let resource: String
    let authorizationServers: [String]
    let scopesSupported: [String]
    let resourceName: String

    /// RFC 9728 §2 member names; keys sorted and slashes unescaped, so the bytes are stable.
    func json() -> [UInt8] {
        let document: [String: Any] = [
            "resource": resource,
            "authorization_servers": authorizationServers,
            "scopes_supported": scopesSupported,
            "bearer_methods_supported": ["header"],
            "resource_name": resourceName,
        ]
        // A dictionary of strings and string arrays always serialises.
        let data = try! JSONSerialization.data(withJSONObject: document, options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data)
    }

    /// The path-aware URL (`/.well-known/oauth-protected-resource/mcp`) and the root one: clients probe
    /// both (MCP 2025-11-25, Protected Resource Metadata Discovery). With several resources (the
    /// config file) the root one is left out: it could describe only one of them.
    static func paths(mcpPath: String, includeRoot: Bool = true) -> [String] {
        mcpPath == "/" ? [wellKnownPrefix] : [wellKnownPrefix + mcpPath] + (includeRoot ? [wellKnownPrefix] : [])
    }

    func addRoutes(to router: Router<some RequestContext>, mcpPath: String, includeRoot: Bool = true) {
        let body = json()
        for path in Self.paths(mcpPath: mcpPath, includeRoot: includeRoot) {
            router.get(RouterPath(path)) { _, _ in
                Response(status: .ok,
                         headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                         body: .init(byteBuffer: ByteBuffer(bytes: body)))
            }
        }
    }
}
