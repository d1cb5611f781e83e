import Foundation

/// MCP lifecycle (Version Negotiation): "If the server supports the requested protocol version, it
/// MUST respond with the same version. Otherwise, the server MUST respond with another protocol
/// version it supports." The SDK would accept 2024-11-05 and 2025-03-26 too, which this server then
/// refuses in the MCP-Protocol-Version header; so an `initialize` asking for a version we do not serve
/// is handed to the SDK as asking for our latest, and the client decides whether it can continue.
enum InitializeRewriter {
    static func offering(_ version: String, in body: Data) -> Data {
        guard var message = (try? JSONSerialization.jsonObject(with: body)) as? [String: Any],
              var params = message["params"] as? [String: Any]
        else { return body }
        params["protocolVersion"] = version
        message["params"] = params
        return (try? JSONSerialization.data(withJSONObject: message, options: [.withoutEscapingSlashes])) ?? body
    }
}
