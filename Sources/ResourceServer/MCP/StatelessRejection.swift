import Foundation
import HTTPTypes
import Hummingbird

/// A JSON-RPC error answered on the MCP 2026-07-28 (stateless) path, with the HTTP status that
/// revision assigns to its code.
///
/// MCP 2026-07-28 (schema, `HeaderMismatchError`): "Returned when a server rejects a request because
/// the values in the HTTP headers do not match the corresponding values in the request body, or
/// because required headers are missing or malformed. For HTTP, the response status code MUST be
/// `400 Bad Request`." `UnsupportedProtocolVersionError`: "Returned when the request's protocol
/// version is unknown to the server or unsupported … For HTTP, the response status code MUST be
/// `400 Bad Request`." The status table is the official Python SDK's (`ERROR_CODE_HTTP_STATUS` in
/// `mcp/shared/inbound.py`), so both servers answer a client alike; unlisted codes keep 200.
struct StatelessRejection: Error, Sendable, Equatable {
    /// JSON-RPC 2.0 §5.1 codes, and those 2026-07-28 defines (-32020..-32099 are reserved for them).
    enum Code {
        static let parseError = -32700
        static let invalidRequest = -32600
        static let methodNotFound = -32601
        static let invalidParams = -32602
        static let headerMismatch = -32020
        static let missingRequiredClientCapability = -32021
        static let unsupportedProtocolVersion = -32022
    }

    let code: Int
    let message: String
    /// `error.data` as JSON text, when the code defines one.
    var dataJSON: String? = nil
    /// The request's id as JSON text; nil writes `"id": null` (the id is unknown or there was none).
    var idJSON: String? = nil

    static func headerMismatch(_ message: String, id: String?) -> StatelessRejection {
        StatelessRejection(code: Code.headerMismatch, message: message, idJSON: id)
    }

    /// `data: {"supported": […], "requested": "…"}`, which a client reads to retry at a version we serve.
    static func unsupportedProtocolVersion(_ requested: String, supported: [String], id: String? = nil) -> StatelessRejection {
        let data: [String: Any] = ["supported": supported, "requested": requested]
        return StatelessRejection(code: Code.unsupportedProtocolVersion, message: "Unsupported protocol version",
                                  dataJSON: Self.json(data), idJSON: id)
    }

    static func methodNotFound(_ method: String, id: String?) -> StatelessRejection {
        StatelessRejection(code: Code.methodNotFound, message: "Method not found", dataJSON: Self.json(method), idJSON: id)
    }

    static func httpStatus(forErrorCode code: Int) -> HTTPResponse.Status {
        switch code {
        case Code.parseError, Code.invalidRequest, Code.invalidParams, Code.headerMismatch,
             Code.missingRequiredClientCapability, Code.unsupportedProtocolVersion:
            .badRequest
        case Code.methodNotFound: .notFound
        default: .ok
        }
    }

    var body: Data {
        var error = #"{"code":\#(code),"message":"# + Self.json(message)
        if let dataJSON { error += #","data":"# + dataJSON }
        return Data(#"{"jsonrpc":"2.0","id":\#(idJSON ?? "null"),"error":\#(error)}}"#.utf8)
    }

    var response: Response {
        Response(status: Self.httpStatus(forErrorCode: code),
                 headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    private static func json(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .sortedKeys, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
