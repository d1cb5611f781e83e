import Foundation
import Hummingbird
import NIOCore

/// MCP 2025-11-25 (Client: Elicitation, URL Elicitation Required Error): "When a request cannot
/// be processed until an elicitation is completed, the server MAY return a
/// URLElicitationRequiredError (code -32042) to indicate to the client that a URL mode elicitation
/// is required." "The error MUST include a list of elicitations that are required to complete
/// before the original can be retried", and "any elicitations returned in the error MUST be URL
/// mode elicitations and have an `elicitationId` property".
///
/// The gateway answers a `tools/call` with it when the caller lacks a connection the resource
/// needs (issue 12) and its session declared URL-mode elicitation at `initialize` (sealed in the
/// session id, `GatewaySessionBinding.Features`) on protocol 2025-11-25: the only revision that
/// has this error (2026-07-28 retired -32042). Every other client gets the tool error.
struct URLElicitationRequired: Sendable {
    static let code = -32042
    /// The revision that defines it (the session's `MCP-Protocol-Version`).
    static let protocolVersion = "2025-11-25"

    /// One URL-mode elicitation: `url` is where the person goes (the AuthServer's connect page),
    /// `message` why, naming the connection and holding no URL (the client shows `url` itself,
    /// its host highlighted); `elicitationId` "a unique identifier for the elicitation".
    struct Elicitation: Sendable, Equatable {
        let elicitationID: String
        let url: String
        let message: String
    }

    let elicitations: [Elicitation]

    /// The JSON-RPC error response to the request `idJSON` (HTTP 200: a JSON-RPC error, not a
    /// transport error).
    func body(idJSON: String) -> String {
        let names = elicitations.count == 1 ? "an account" : "\(elicitations.count) accounts"
        let error: [String: Any] = [
            "code": Self.code,
            "message": "This tool needs \(names) connected first; call it again afterwards.",
            "data": ["elicitations": elicitations.map { elicitation in
                ["mode": "url", "elicitationId": elicitation.elicitationID, "url": elicitation.url, "message": elicitation.message]
            }],
        ]
        let encoded = String(decoding: try! JSONSerialization.data(withJSONObject: error, options: [.sortedKeys, .withoutEscapingSlashes]),
                             as: UTF8.self)
        return #"{"jsonrpc":"2.0","id":\#(idJSON),"error":\#(encoded)}"#
    }

    func response(idJSON: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(string: body(idJSON: idJSON))))
    }
}
