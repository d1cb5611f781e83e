import Foundation
import HTTPTypes
import NIOHTTP1

/// Which headers cross the gateway, in each direction.
///
/// Towards the upstream only what the Streamable HTTP transport needs passes (an allow-list), so
/// nothing the client sends (cookies, credentials, proxy headers, `X-Gatehouse-*` spoofing) reaches
/// it by accident; identity is added afterwards by `UpstreamIdentity`. Back towards the client
/// everything passes except what would let the upstream act on the client or on the connection:
/// RFC 9110 §7.6.1 hop-by-hop fields ("a proxy MUST … remove any header or trailer field that is
/// listed as a Connection option"), cookies, CORS (our own middleware decides), and challenges (the
/// client's OAuth is with Gatehouse, never with the upstream).
enum UpstreamHeaders {
    static let mcpSessionID = HTTPField.Name("Mcp-Session-Id")!
    static let mcpProtocolVersion = HTTPField.Name("MCP-Protocol-Version")!
    static let lastEventID = HTTPField.Name("Last-Event-ID")!
    static let mcpMethod = HTTPField.Name("Mcp-Method")!
    static let mcpName = HTTPField.Name("Mcp-Name")!
    static let requestID = HTTPField.Name("X-Request-Id")!

    /// Lowercased names forwarded to the upstream (the session id is rewritten on the way).
    static let forwardedToUpstream: Set<String> = [
        "accept", "content-type", "mcp-protocol-version", "last-event-id", "mcp-method", "mcp-name", "user-agent",
    ]

    /// Lowercased names never passed back to the client.
    static let droppedFromUpstream: Set<String> = [
        // RFC 9110 §7.6.1 and RFC 9112: connection-specific.
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
        // Hummingbird frames the body and writes its own.
        "content-length", "date", "server",
        // The upstream must not set state in the client's browser, nor widen CORS, nor start an OAuth
        // dance with a server the client does not know.
        "set-cookie", "set-cookie2", "www-authenticate", "alt-svc", "strict-transport-security",
        "access-control-allow-origin", "access-control-allow-credentials", "access-control-allow-headers",
        "access-control-allow-methods", "access-control-expose-headers", "access-control-max-age",
        // Replaced by the sealed id.
        "mcp-session-id",
    ]

    /// The client's headers reduced to the allow-list, as NIO headers for AsyncHTTPClient.
    static func towardsUpstream(_ fields: HTTPFields) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for field in fields where forwardedToUpstream.contains(field.name.canonicalName) {
            headers.add(name: field.name.rawName, value: field.value)
        }
        return headers
    }

    /// The upstream's response headers minus the dropped ones and whatever its `Connection` names.
    static func towardsClient(_ headers: HTTPHeaders) -> HTTPFields {
        var connectionOptions: Set<String> = []
        for value in headers["connection"] {
            for option in value.split(separator: ",") {
                connectionOptions.insert(option.trimmingCharacters(in: .whitespaces).lowercased())
            }
        }
        var fields = HTTPFields()
        for (name, value) in headers {
            let lowered = name.lowercased()
            guard !droppedFromUpstream.contains(lowered), !connectionOptions.contains(lowered),
                  !lowered.hasPrefix("x-gatehouse-"), let fieldName = HTTPField.Name(name)
            else { continue }
            fields.append(HTTPField(name: fieldName, value: value))
        }
        return fields
    }
}
