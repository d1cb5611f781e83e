import Foundation

/// An RFC 7591 registration request, validated field by field. A client ID metadata document
/// carries the same fields and is validated by the same code (`init(metadata:defaultAuthMethod:)`).
public struct ClientRegistrationRequest {
    public static let maxBodyBytes = 64 * 1024
    public static let maxFieldLength = 2000
    public static let maxRedirectURIs = 20

    public let redirectURIs: [String]
    public let authMethod: Client.AuthMethod
    public let grantTypes: [String]
    public let scope: ScopeSet
    public let name: String?
    public let clientURI: String?
    public let applicationType: String
    /// RFC 7591 §2 `jwks_uri` / `jwks` / `token_endpoint_auth_signing_alg`, for `private_key_jwt`.
    public let keys: ClientKeyMetadata

    /// NUL (which PostgreSQL text refuses) and the other C0 controls and DEL: no client name or
    /// URI needs them, and a newline in one would forge a line in a log or on a page.
    public static func containsControlCharacter(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f }
    }

    /// Parses the JSON body. Every violation is the RFC 7591 §3.2.2 error, never a 500.
    public init(json body: [UInt8], grantableScopes: [String] = ScopeCatalog.grantableNames) throws(OAuthError) {
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)), let object = parsed as? [String: Any] else {
            throw OAuthError(.invalidClientMetadata, "the body must be a JSON object")
        }
        // RFC 7591 §2: "If unspecified or omitted, the default is client_secret_basic".
        try self.init(metadata: object, defaultAuthMethod: .clientSecretBasic, grantableScopes: grantableScopes)
    }

    /// Validates client metadata already parsed from JSON: a registration body or a fetched
    /// client ID metadata document. `grantableScopes`: every scope of every resource we protect
    /// (`ProtectedResourceCatalog.grantableNames`).
    public init(metadata object: [String: Any], defaultAuthMethod: Client.AuthMethod,
         grantableScopes: [String] = ScopeCatalog.grantableNames) throws(OAuthError) {
        func string(_ key: String) throws(OAuthError) -> String? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let text = value as? String else { throw OAuthError(.invalidClientMetadata, "\(key) must be a string") }
            guard text.count <= Self.maxFieldLength else { throw OAuthError(.invalidClientMetadata, "\(key) is too long") }
            guard !Self.containsControlCharacter(text) else {
                throw OAuthError(.invalidClientMetadata, "\(key) must not contain control characters")
            }
            return text
        }
        func strings(_ key: String) throws(OAuthError) -> [String]? {
            guard let value = object[key], !(value is NSNull) else { return nil }
            guard let list = value as? [Any], list.allSatisfy({ $0 is String }) else {
                throw OAuthError(.invalidClientMetadata, "\(key) must be an array of strings")
            }
            let texts = list.compactMap { $0 as? String }
            guard !texts.contains(where: Self.containsControlCharacter) else {
                throw OAuthError(.invalidClientMetadata, "\(key) must not contain control characters")
            }
            return texts
        }

        guard let uris = try strings("redirect_uris"), !uris.isEmpty else {
            throw OAuthError(.invalidRedirectURI, "redirect_uris must be a non-empty array")
        }
        guard uris.count <= Self.maxRedirectURIs else { throw OAuthError(.invalidRedirectURI, "too many redirect_uris") }
        for uri in uris {
            if let problem = RedirectURIPolicy.validate(uri) { throw OAuthError(.invalidRedirectURI, problem) }
        }
        redirectURIs = uris

        if let methodText = try string("token_endpoint_auth_method") {
            guard let method = Client.AuthMethod(rawValue: methodText) else {
                throw OAuthError(.invalidClientMetadata, "token_endpoint_auth_method must be one of none, client_secret_basic, client_secret_post, private_key_jwt")
            }
            authMethod = method
        } else {
            authMethod = defaultAuthMethod
        }
        keys = try ClientKeyMetadata(metadata: object, authMethod: authMethod)

        let grants = try strings("grant_types") ?? ["authorization_code"]
        let supportedGrants: Set<String> = ["authorization_code", "refresh_token"]
        guard !grants.isEmpty, grants.allSatisfy(supportedGrants.contains) else {
            throw OAuthError(.invalidClientMetadata, "grant_types may contain only authorization_code and refresh_token")
        }
        guard grants.contains("authorization_code") else {
            throw OAuthError(.invalidClientMetadata, "grant_types must include authorization_code")
        }
        grantTypes = grants
        if let responseTypes = try strings("response_types"), responseTypes != ["code"] {
            throw OAuthError(.invalidClientMetadata, "response_types must be [\"code\"]")
        }
        // Unknown scopes are narrowed away, not fatal: Claude registers `scope: "mcp"`.
        scope = ScopeSet(try string("scope")).narrowed(to: grantableScopes)
        name = try string("client_name")
        if let uri = try string("client_uri") {
            guard let parts = URLComponents(string: uri), ["https", "http"].contains(parts.scheme?.lowercased() ?? "") else {
                throw OAuthError(.invalidClientMetadata, "client_uri must be an http(s) URL")
            }
            clientURI = uri
        } else {
            clientURI = nil
        }
        let appType = try string("application_type") ?? "web"
        guard appType == "web" || appType == "native" else {
            throw OAuthError(.invalidClientMetadata, "application_type must be web or native")
        }
        applicationType = appType
    }
}
