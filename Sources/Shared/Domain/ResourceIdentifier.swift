import Foundation

/// An RFC 8707 resource indicator in canonical form.
///
/// RFC 8707 §2: "The value of the resource parameter MUST be an absolute URI … MUST NOT include
/// a fragment component." MCP (2025-06-18, Canonical Server URI): lowercase scheme and host,
/// no trailing slash unless semantically significant. Both servers canonicalise the same way, so
/// the AS puts exactly this string in `aud` and the RS compares against exactly this string.
public struct ResourceIdentifier: Sendable, Hashable, CustomStringConvertible {
    public let value: String

    public init?(_ raw: String) {
        guard raw.count <= 2048, var parts = URLComponents(string: raw),
              let scheme = parts.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = parts.host, !host.isEmpty, parts.fragment == nil,
              parts.user == nil, parts.password == nil
        else { return nil }
        parts.scheme = scheme
        parts.host = host.lowercased()
        // Default ports carry no meaning.
        if (scheme == "https" && parts.port == 443) || (scheme == "http" && parts.port == 80) { parts.port = nil }
        // A trailing slash is stripped (https://mcp.example.com/ == https://mcp.example.com).
        while parts.path.hasSuffix("/") { parts.path.removeLast() }
        guard let text = parts.string else { return nil }
        self.value = text
    }

    public var description: String { value }
}
