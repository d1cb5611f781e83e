import Foundation

/// The JSON-RPC messages the stdio gateway writes itself, to the child or to a client.
enum StdioMessages {
    /// The newest revision the gateway offers a child; older children answer with their own.
    static let offeredProtocolVersion = "2025-11-25"
    /// Revisions reachable by the `initialize` handshake, oldest first.
    static let handshakeVersions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"]

    /// The gateway is the child's only client. It declares what it can relay: server requests are
    /// routed to the client session whose call caused them, which answers for itself (a client
    /// without the capability answers "Method not found", which goes back to the child as is).
    static func initialize(id: Int) -> [UInt8] {
        line(#"{"jsonrpc":"2.0","id":\#(id),"method":"initialize","params":{"protocolVersion":"\#(offeredProtocolVersion)","capabilities":{"roots":{"listChanged":false},"sampling":{},"elicitation":{}},"clientInfo":{"name":"gatehouse-gateway","version":"1.0.0"}}}"#)
    }

    static let initialized = line(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)

    /// MCP (Cancellation): "When a party wants to cancel an in-progress request, it sends a
    /// `notifications/cancelled` notification containing: The ID of the request to cancel".
    static func cancelled(requestID: Int, reason: String) -> [UInt8] {
        line(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":\#(requestID),"reason":\#(quoted(reason))}}"#)
    }

    /// A JSON-RPC error response for the request `idJSON` (its id as JSON text).
    static func error(idJSON: String, code: Int, message: String) -> [UInt8] {
        Array(#"{"jsonrpc":"2.0","id":\#(idJSON),"error":{"code":\#(code),"message":\#(quoted(message))}}"#.utf8)
    }

    /// The answer to a client's `initialize`, from the child's own result with `protocolVersion`
    /// set to what this client is told (MCP lifecycle: "If the server supports the requested
    /// protocol version, it MUST respond with the same version. Otherwise, the server MUST respond
    /// with another protocol version it supports").
    static func initializeResult(idJSON: String, childResult: [UInt8], protocolVersion: String) -> [UInt8] {
        var result = childResult
        if let range = JSONMemberLocator.range(of: ["protocolVersion"], in: result) {
            result = JSONMemberLocator.replacing(range, in: result, with: Array(quoted(protocolVersion).utf8))
        }
        return Array(#"{"jsonrpc":"2.0","id":\#(idJSON),"result":"#.utf8) + result + Array("}".utf8)
    }

    /// The version a client asking for `requested` is told: its own when the child's is at least as
    /// new (the revisions only add to each other), else the child's.
    static func negotiatedVersion(requested: String?, child: String) -> String {
        guard let requested, handshakeVersions.contains(requested), requested <= child else { return child }
        return requested
    }

    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: text, options: [.fragmentsAllowed, .withoutEscapingSlashes])) ?? Data()
        return data.isEmpty ? "\"\"" : String(decoding: data, as: UTF8.self)
    }

    private static func line(_ text: String) -> [UInt8] {
        Array(text.utf8) + [0x0A]
    }
}
