import Foundation
import Shared

/// An authorization request that passed every check of `AuthorizeValidator`. It waits in the
/// database (table `authorization_requests`) while the person logs in and consents, so the login
/// may land on one replica and the consent on another.
struct AuthorizationRequest: Codable, Sendable, Equatable {
    var clientID: String
    var redirectURI: String
    var state: String?
    var codeChallenge: String
    var scope: String
    var resource: String
    /// `prompt=consent` (the Python SDK sends it with offline_access) or `prompt=login`.
    var forceConsent: Bool
    var forceLogin: Bool
    /// Whether the request named its redirect URI (it may be left out when only one is
    /// registered). OAuth 2.1 §4.1.3 then requires it at the token endpoint only if it was sent.
    var redirectURIWasSent: Bool
    /// OpenID Connect Core §3.1.2.1 `nonce`: "String value used to associate a Client session with
    /// an ID Token, and to mitigate replay attacks. The value is passed through unmodified from the
    /// Authentication Request to the ID Token." Absent in requests parked before it existed.
    var nonce: String? = nil
    /// A nonce is an opaque value the client chose; bounded so a request stays small.
    static let maxNonceLength = 512

    var redirect: ValidatedRedirect { ValidatedRedirect(uncheckedURI: redirectURI, state: state) }

    var scopeSet: ScopeSet { ScopeSet(scope) }
}

/// A redirect URI that `AuthorizeValidator` has matched against the client's registration.
/// Only that check (and a stored, already validated request) can create one, so no code path can
/// redirect to a URI nobody validated: errors before it are shown on our own page.
struct ValidatedRedirect: Sendable {
    let uri: String
    let state: String?

    fileprivate init(uncheckedURI: String, state: String?) {
        self.uri = uncheckedURI
        self.state = state
    }

    static func matched(_ requested: String, for client: Client, state: String?) -> ValidatedRedirect? {
        guard RedirectURIPolicy.matches(requested, registered: client.redirectURIs) else { return nil }
        return ValidatedRedirect(uncheckedURI: requested, state: state)
    }

    /// RFC 6749 §4.1.2 plus RFC 9207 §2: "the authorization server … MUST include the iss
    /// parameter in the authorization response" (success and error alike).
    func success(code: String, issuer: String) -> String {
        build([("code", code), ("state", state), ("iss", issuer)])
    }

    /// RFC 6749 §4.1.2.1 error response.
    func error(_ error: OAuthError, issuer: String) -> String {
        build([("error", error.code.rawValue), ("error_description", error.errorDescription), ("state", state), ("iss", issuer)])
    }

    private func build(_ items: [(String, String?)]) -> String {
        var parts = URLComponents(string: uri) ?? URLComponents()
        var query = parts.queryItems ?? []
        for (name, value) in items { if let value { query.append(URLQueryItem(name: name, value: value)) } }
        parts.queryItems = query
        // URLComponents leaves '+' and some sub-delims unescaped in queries; escape them so the
        // client's form decoder reads exactly what we meant.
        parts.percentEncodedQuery = parts.percentEncodedQuery?
            .replacingOccurrences(of: "+", with: "%2B")
        return parts.string ?? uri
    }
}
