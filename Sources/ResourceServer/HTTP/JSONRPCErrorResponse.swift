import Foundation
import HTTPTypes
import Hummingbird

/// A transport-level error with a JSON-RPC error body and no id.
///
/// MCP transports (2025-11-25): "The HTTP response body MAY comprise a JSON-RPC error response that
/// has no id" (for a 403 on a bad Origin; we use the same shape for 400s).
enum JSONRPCErrorResponse {
    static func make(status: HTTPResponse.Status, code: Int, message: String, headers: HTTPFields = [:]) -> Response {
        let body: [String: Any] = ["jsonrpc": "2.0", "id": NSNull(), "error": ["code": code, "message": message]]
        let data = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data()
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
