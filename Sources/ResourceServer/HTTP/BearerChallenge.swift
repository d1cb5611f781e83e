import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// Builds the RFC 6750 §3 `WWW-Authenticate: Bearer …` challenges of the MCP endpoint.
///
/// MCP authorization (2025-11-25): "MCP servers MUST use the HTTP header WWW-Authenticate when
/// returning a 401 Unauthorized to indicate the location of the resource server metadata URL"
/// (RFC 9728 §5.1 `resource_metadata`), and "SHOULD include a scope parameter" naming the scopes
/// a client should request. On 403 insufficient_scope the `scope` names what the call needs.
struct BearerChallenge: Sendable {
    let resourceMetadataURL: String
    /// Every scope a client may ask for: the default advice on a 401.
    let supportedScopes: [String]

    /// 401: no token (no `error`, RFC 6750 §3.1), or a refused one (`invalid_token`); 400 for a
    /// request that carries the token the wrong way (`invalid_request`). RFC 6750 §3.1:
    /// "invalid_request: The request is missing a required parameter, includes an unsupported
    /// parameter or parameter value, repeats the same parameter, uses more than one method for
    /// including an access token, or is otherwise malformed. The resource server SHOULD respond with
    /// the HTTP 400 (Bad Request) status code."
    func unauthorized(_ rejection: TokenRejection) -> OAuthError {
        var parameters: [(String, String)] = []
        let code: OAuthError.Code?
        switch rejection {
        case .missing: code = nil
        case .invalidRequest: code = .invalidRequest
        case .invalidToken, .revoked, .signingKeyRevoked, .apiKey: code = .invalidToken
        }
        if let code {
            parameters.append(("error", code.rawValue))
            parameters.append(("error_description", rejection.description))
        }
        parameters.append(("resource_metadata", resourceMetadataURL))
        parameters.append(("scope", supportedScopes.joined(separator: " ")))
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = Self.render(parameters)
        return OAuthError(code ?? .invalidToken, status: code == .invalidRequest ? .badRequest : .unauthorized,
                          rejection == .missing ? "an access token is required" : rejection.description,
                          headers: headers)
    }

    /// 403 (RFC 6750 §3.1 `insufficient_scope`): "The request requires higher privileges than provided
    /// by the access token. The resource server SHOULD respond with the HTTP 403 (Forbidden) status
    /// code and MAY include the "scope" attribute with the scope necessary to access the protected
    /// resource." We name the scopes the token already has plus the missing ones, so a client that
    /// re-authorizes with exactly this list does not lose what it had (MCP 2025-11-25, Step-Up).
    func insufficientScope(required: [String], granted: ScopeSet, tool: String) -> OAuthError {
        let needed = ScopeSet(tokens: granted.tokens + required).narrowed(to: supportedScopes)
        let description = "the \(tool) tool requires \(required.joined(separator: " "))"
        let parameters = [
            ("error", OAuthError.Code.insufficientScope.rawValue),
            ("scope", needed.description),
            ("resource_metadata", resourceMetadataURL),
            ("error_description", description),
        ]
        var headers = HTTPFields()
        headers[.wwwAuthenticate] = Self.render(parameters)
        return OAuthError(.insufficientScope, status: .forbidden, description, headers: headers)
    }

    /// RFC 6750 §3: `Bearer` followed by comma-separated `name="value"` auth-params. Values are our own
    /// short ASCII strings; quotes and backslashes are escaped anyway (RFC 9110 §5.6.4).
    static func render(_ parameters: [(String, String)]) -> String {
        let rendered = parameters.map { name, value in
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            return "\(name)=\"\(escaped)\""
        }
        return "Bearer " + rendered.joined(separator: ", ")
    }
}
