import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The answers the gateway writes itself when an upstream cannot give one: a status the client's
/// HTTP layer understands and a JSON-RPC error body its MCP layer can show (MCP transports: "The
/// HTTP response body MAY comprise a JSON-RPC error response that has no id").
enum UpstreamFailure {
    /// JSON-RPC 2.0 §5.1 leaves -32000…-32099 to the implementation.
    static let unavailableCode = -32000
    static let timeoutCode = -32001
    static let badGatewayCode = -32002
    static let sessionNotFoundCode = -32003

    /// The upstream refused the connection, or did not accept one in the connect timeout.
    static func unavailable() -> Response {
        JSONRPCErrorResponse.make(status: .serviceUnavailable, code: unavailableCode,
                                  message: "The upstream MCP server is unavailable", headers: [.retryAfter: "1"])
    }

    static func timedOut(after seconds: Int) -> Response {
        JSONRPCErrorResponse.make(status: .gatewayTimeout, code: timeoutCode,
                                  message: "The upstream MCP server did not answer within \(seconds) s")
    }

    static func badGateway(_ message: String) -> Response {
        JSONRPCErrorResponse.make(status: .badGateway, code: badGatewayCode, message: message)
    }

    /// MCP transports (Session Management): "The server MAY terminate the session at any time, after
    /// which it MUST respond to requests containing that session ID with HTTP 404 Not Found." A
    /// session id that does not verify for this caller is, for them, a session that does not exist.
    static func sessionNotFound() -> Response {
        JSONRPCErrorResponse.make(status: .notFound, code: sessionNotFoundCode, message: "Session not found")
    }

    /// No token could be obtained for the upstream.
    static func identity(_ error: TokenExchangeError) -> Response {
        switch error {
        case .unavailable:
            return JSONRPCErrorResponse.make(status: .serviceUnavailable, code: unavailableCode,
                                             message: "No token could be obtained for the upstream MCP server",
                                             headers: [.retryAfter: "1"])
        case .refused(_, "invalid_grant", _):
            // The subject token was revoked between our check and the exchange.
            return JSONRPCErrorResponse.make(status: .unauthorized, code: unavailableCode,
                                             message: "The access token is no longer valid",
                                             headers: [.wwwAuthenticate: #"Bearer error="invalid_token""#])
        case .refused:
            return badGateway("The authorization server refused a token for the upstream MCP server")
        }
    }

    /// What a transport error before the response head means for the client.
    static func response(for error: any Error, timeout: Int) -> Response {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            return timedOut(after: timeout)
        }
        return unavailable()
    }

    /// One SSE event carrying a JSON-RPC error for request `idJSON`, ending a stream the upstream
    /// broke off, so the client's pending call fails instead of waiting.
    static func sseErrorEvent(idJSON: String, code: Int, message: String) -> ByteBuffer {
        let data = (try? JSONSerialization.data(withJSONObject: message, options: [.fragmentsAllowed])) ?? Data("\"\"".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return ByteBuffer(string: "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":\(idJSON),\"error\":{\"code\":\(code),\"message\":\(text)}}\n\n")
    }
}
