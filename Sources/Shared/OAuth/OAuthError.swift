import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The one error type of every OAuth endpoint and of the resource server's challenges.
///
/// RFC 6749 §5.2: "The authorization server responds with an HTTP 400 (Bad Request) status code
/// (unless specified otherwise) and includes the following parameters with the response: error …
/// error_description". `description` is public and goes on the wire; `debug` is for logs only
/// and is never written to a response.
public struct OAuthError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        public static let invalidRequest = Code(rawValue: "invalid_request")
        public static let invalidClient = Code(rawValue: "invalid_client")
        public static let invalidGrant = Code(rawValue: "invalid_grant")
        public static let unauthorizedClient = Code(rawValue: "unauthorized_client")
        public static let unsupportedGrantType = Code(rawValue: "unsupported_grant_type")
        public static let unsupportedResponseType = Code(rawValue: "unsupported_response_type")
        public static let invalidScope = Code(rawValue: "invalid_scope")
        public static let accessDenied = Code(rawValue: "access_denied")
        public static let invalidTarget = Code(rawValue: "invalid_target")  // RFC 8707 §2
        public static let serverError = Code(rawValue: "server_error")
        public static let temporarilyUnavailable = Code(rawValue: "temporarily_unavailable")
        public static let unsupportedTokenType = Code(rawValue: "unsupported_token_type")  // RFC 7009 §2.2.1
        public static let invalidRedirectURI = Code(rawValue: "invalid_redirect_uri")  // RFC 7591 §3.2.2
        public static let invalidClientMetadata = Code(rawValue: "invalid_client_metadata")
        public static let invalidToken = Code(rawValue: "invalid_token")  // RFC 6750 §3.1
        public static let insufficientScope = Code(rawValue: "insufficient_scope")
    }

    public var code: Code
    public var status: HTTPResponse.Status
    /// Safe for clients: says what was wrong without echoing secrets.
    public var errorDescription: String?
    /// Private detail for the logs; never sent.
    public var debug: String?
    /// Extra response headers (`WWW-Authenticate` for 401s).
    public var headers: HTTPFields

    public init(_ code: Code, status: HTTPResponse.Status = .badRequest, _ description: String? = nil,
                debug: String? = nil, headers: HTTPFields = [:]) {
        self.code = code
        self.status = status
        self.errorDescription = description
        self.debug = debug
        self.headers = headers
    }

    public var description: String {
        "\(code.rawValue)\(errorDescription.map { ": \($0)" } ?? "")\(debug.map { " [\($0)]" } ?? "")"
    }

    public static func invalidRequest(_ description: String, debug: String? = nil) -> OAuthError {
        OAuthError(.invalidRequest, description, debug: debug)
    }

    public static func invalidGrant(_ description: String, debug: String? = nil) -> OAuthError {
        OAuthError(.invalidGrant, description, debug: debug)
    }

    public static func invalidClient(_ description: String, basicAuthChallenge: Bool = false) -> OAuthError {
        // RFC 6749 §5.2: 401 for a failed client authentication; include WWW-Authenticate when
        // the client tried the Authorization header.
        var headers = HTTPFields()
        if basicAuthChallenge { headers[.wwwAuthenticate] = "Basic realm=\"gatehouse\"" }
        return OAuthError(.invalidClient, status: .unauthorized, description, headers: headers)
    }

    public static func serverError(debug: String) -> OAuthError {
        OAuthError(.serverError, status: .internalServerError, "the server could not complete the request", debug: debug)
    }

    /// 503 with `Retry-After: 1` always (RFC 9110 §10.2.3: "servers send the Retry-After header
    /// field to indicate how long the user agent ought to wait before making a follow-up
    /// request"): a client that backs off by it comes back about when the database does, and no
    /// path to this answer (store, middleware backstop, bearer check) can forget the header.
    public static func temporarilyUnavailable(debug: String) -> OAuthError {
        OAuthError(.temporarilyUnavailable, status: .serviceUnavailable, "the service is temporarily unavailable; retry shortly",
                   debug: debug, headers: [.retryAfter: "1"])
    }

    /// The JSON body `{"error": …, "error_description": …}`.
    public var jsonBody: [String: String] {
        var body = ["error": code.rawValue]
        if let errorDescription { body["error_description"] = errorDescription }
        return body
    }
}

extension OAuthError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        fields[.cacheControl] = "no-store"
        fields[.pragma] = "no-cache"
        let data = try JSONSerialization.data(withJSONObject: jsonBody, options: [.sortedKeys, .withoutEscapingSlashes])
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    public static let pragma = HTTPField.Name("Pragma")!
}
