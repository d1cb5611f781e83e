import Foundation
import Shared

/// The members of an OpenID Provider's discovery document that Gatehouse uses (OpenID Connect
/// Discovery 1.0 §3).
struct OIDCProviderMetadata: Decodable, Sendable, Equatable {
    var issuer: String
    var authorization_endpoint: String
    var token_endpoint: String
    var jwks_uri: String
    /// §3: "If omitted, the default is client_secret_basic".
    var token_endpoint_auth_methods_supported: [String]?
    /// §3: "The algorithm RS256 MUST be included."
    var id_token_signing_alg_values_supported: [String]?

    /// Discovery §4: "If the Issuer value contains a path component, any terminating / MUST be
    /// removed before appending /.well-known/openid-configuration."
    static func discoveryURL(issuer: String) -> String {
        var base = issuer
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/.well-known/openid-configuration"
    }

    /// Discovery §4.3: "The issuer value returned MUST be identical to the Issuer URL that was used
    /// as the prefix to /.well-known/openid-configuration to retrieve the configuration
    /// information." The endpoints must be addresses the provider's entry allows, since the
    /// browser is sent to one of them.
    func problem(expectedIssuer: String, allowInsecureLoopback: Bool) -> String? {
        guard Array(issuer.utf8) == Array(expectedIssuer.utf8) else {
            return "the discovery document's issuer is not the configured issuer"
        }
        for (name, url) in [("authorization_endpoint", authorization_endpoint), ("token_endpoint", token_endpoint),
                            ("jwks_uri", jwks_uri)] {
            if let problem = IdentityProviderURL.problem(url, allowInsecureLoopback: allowInsecureLoopback) {
                return "the discovery document's \(name) \(problem)"
            }
        }
        return nil
    }

    /// The ID token algorithms Gatehouse verifies that the provider advertises; RS256 when it says none.
    var signingAlgorithms: Set<JWSAlgorithm> {
        Set((id_token_signing_alg_values_supported ?? ["RS256"]).compactMap(JWSAlgorithm.init(rawValue:)))
    }

    /// RFC 6749 §2.3.1 `client_secret_basic` unless the provider lists only `client_secret_post`.
    var usesSecretPost: Bool {
        guard let methods = token_endpoint_auth_methods_supported else { return false }
        return !methods.contains("client_secret_basic") && methods.contains("client_secret_post")
    }
}

/// A URL the provider gave: https, or http to a loopback host for an entry with
/// `allow_insecure_loopback: true`; never a query-less check of a scheme like `javascript:`.
enum IdentityProviderURL {
    static func problem(_ url: String, allowInsecureLoopback: Bool) -> String? {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
              let host = parts.host, !host.isEmpty, parts.fragment == nil, parts.user == nil else {
            return "is not an absolute https URL"
        }
        if scheme == "https" { return nil }
        if scheme == "http", allowInsecureLoopback, HTTPURL.isLoopbackHost(host) { return nil }
        return "must be https"
    }
}
