import Foundation
import Shared

/// Who the provider says the person is, after every check of the provider's answer: the
/// (provider, subject) pair that identifies them, and what Gatehouse keeps beside it.
struct FederatedIdentity: Sendable, Equatable {
    let providerID: String
    /// OIDC `sub`; GitHub's numeric user id (a login can be renamed, the id cannot).
    let subject: String
    let email: String?
    /// The provider vouches for the address (OIDC `email_verified`, GitHub's verified primary email).
    let emailVerified: Bool
    let name: String?
    /// GitHub's login, OIDC `preferred_username`: a hint for the username of a new account.
    let login: String?
    /// GitHub only: the person's organisations (lowercased), when `allow.orgs` asked for them.
    var organisations: Set<String> = []

    /// Why the provider's answer cannot be kept: a subject or login that is empty, longer than 255
    /// bytes, or carries control characters (PostgreSQL text refuses NUL; a log line must not be forged).
    var problem: String? {
        for (name, value) in [("subject", subject), ("login", login ?? "x")] {
            if value.isEmpty || value.utf8.count > 255 || value.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                return "the provider sent a \(name) Gatehouse cannot keep (empty, too long, or with control characters)"
            }
        }
        return nil
    }
}

/// A configured provider with its client secret read (at start-up, so a missing file stops it).
struct ResolvedIdentityProvider: Sendable, CustomStringConvertible {
    let configuration: IdentityProviderConfiguration
    let clientSecret: String

    var id: String { configuration.id }

    /// Never the secret.
    var description: String { "identity provider \(configuration.id) (\(configuration.kind.rawValue), secret <redacted>)" }

    /// `<issuer>/login/<id>/callback`: what the operator registers at the provider.
    func redirectURI(issuer: String) -> String { "\(issuer)/login/\(configuration.id)/callback" }
}

/// The provider's side of a sign-in: where to send the browser, and who came back.
protocol UpstreamSignIn: Sendable {
    /// The provider's authorization URL for this sign-in.
    func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String,
                          now: Date) async throws(FederationFailure) -> String
    /// Redeems the code and returns the person, every check done.
    func identity(code: String, codeVerifier: String, nonce: String, redirectURI: String,
                  now: Date) async throws(FederationFailure) -> FederatedIdentity
}

/// RFC 6749 §5.1's members of a token response that the sign-in uses.
struct UpstreamTokenResponse: Decodable, Sendable {
    var access_token: String?
    var token_type: String?
    var id_token: String?
    var error: String?
    var error_description: String?
}

extension URLComponents {
    /// `url` with `parameters` appended to its query (RFC 6749 §3.1: "The endpoint URI MAY
    /// include an application/x-www-form-urlencoded formatted query component, which MUST be
    /// retained when adding additional query parameters").
    static func appending(_ parameters: [(String, String)], to url: String) -> String? {
        guard var parts = URLComponents(string: url) else { return nil }
        var items = parts.queryItems ?? []
        items += parameters.map { URLQueryItem(name: $0.0, value: $0.1) }
        // Spaces as %20, not +: both are a space in a query, but not every provider reads `+` so.
        func encode(_ text: String) -> String { ProviderHTTPClient.formEncode(text).replacingOccurrences(of: "+", with: "%20") }
        parts.percentEncodedQuery = items.map { "\(encode($0.name))=\(encode($0.value ?? ""))" }.joined(separator: "&")
        return parts.string
    }
}
