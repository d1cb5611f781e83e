import Foundation
import Shared

/// Sign-in through an OpenID Connect provider: the authorization code flow (OpenID Connect Core
/// §3.1) with PKCE S256, `state` and `nonce`; the code redeemed with the client secret
/// (`client_secret_basic`, or `client_secret_post` when the provider lists only that); the ID
/// token checked by `UpstreamIDTokenVerifier`.
struct OIDCSignIn: UpstreamSignIn {
    let provider: ResolvedIdentityProvider
    let cache: OIDCProviderCache

    private var configuration: IdentityProviderConfiguration { provider.configuration }

    func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String,
                          now: Date) async throws(FederationFailure) -> String {
        let metadata = try await cache.metadata(for: configuration, now: now)
        guard let url = URLComponents.appending([
            ("response_type", "code"), ("client_id", configuration.clientID), ("redirect_uri", redirectURI),
            ("scope", configuration.scopes.joined(separator: " ")), ("state", state), ("nonce", nonce),
            ("code_challenge", codeChallenge), ("code_challenge_method", "S256"),
        ], to: metadata.authorization_endpoint) else {
            throw FederationFailure(.providerError, "the provider's authorization_endpoint is not a URL")
        }
        return url
    }

    func identity(code: String, codeVerifier: String, nonce: String, redirectURI: String,
                  now: Date) async throws(FederationFailure) -> FederatedIdentity {
        let metadata = try await cache.metadata(for: configuration, now: now)
        let idToken = try await redeem(code: code, codeVerifier: codeVerifier, redirectURI: redirectURI, metadata: metadata)
        let verifier = UpstreamIDTokenVerifier(issuer: configuration.issuer ?? "", clientID: configuration.clientID)
        let jws = try verifier.parse(idToken, algorithms: metadata.signingAlgorithms)
        var keys = try await cache.keys(for: configuration, jwksURI: metadata.jwks_uri, now: now)
        if UpstreamIDTokenVerifier.candidates(for: jws, in: keys).isEmpty {
            keys = try await cache.keys(for: configuration, jwksURI: metadata.jwks_uri, now: now, refresh: true)
        }
        let claims = try verifier.verify(jws, keys: keys, nonce: nonce, now: now)
        return FederatedIdentity(providerID: configuration.id, subject: claims.sub, email: claims.email,
                                 emailVerified: claims.email != nil && claims.emailVerified, name: claims.name,
                                 login: claims.preferredUsername)
    }

    /// RFC 6749 §4.1.3, with RFC 7636 §4.5's `code_verifier`.
    private func redeem(code: String, codeVerifier: String, redirectURI: String,
                        metadata: OIDCProviderMetadata) async throws(FederationFailure) -> String {
        var fields = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
                      ("code_verifier", codeVerifier)]
        var headers: [(String, String)] = []
        if metadata.usesSecretPost {
            fields += [("client_id", configuration.clientID), ("client_secret", provider.clientSecret)]
        } else {
            headers.append(("Authorization", UpstreamClientAuthentication.basic(clientID: configuration.clientID,
                                                                               secret: provider.clientSecret)))
        }
        let answer = try await ProviderHTTPClient(allowLoopback: configuration.allowInsecureLoopback)
            .postForm(metadata.token_endpoint, fields: fields, headers: headers)
        let body = answer.json(UpstreamTokenResponse.self)
        guard answer.status == 200, let body, let idToken = body.id_token else {
            throw UpstreamClientAuthentication.failure(status: answer.status, body: body, what: "an ID token")
        }
        return idToken
    }
}

/// How Gatehouse authenticates to a provider's token endpoint, and what a refusal there means.
enum UpstreamClientAuthentication {
    /// RFC 6749 §2.3.1: "The client identifier is encoded using the application/x-www-form-urlencoded
    /// encoding algorithm … and the encoded value is used as the username; the client password is
    /// encoded using the same algorithm and used as the password."
    static func basic(clientID: String, secret: String) -> String {
        let pair = ProviderHTTPClient.formEncode(clientID) + ":" + ProviderHTTPClient.formEncode(secret)
        return "Basic " + Data(pair.utf8).base64EncodedString()
    }

    /// A token endpoint's refusal, in words: its `error` code (a spec token, safe to show), never its description.
    static func failure(status: Int, body: UpstreamTokenResponse?, what: String) -> FederationFailure {
        if let error = body?.error {
            let code = String(error.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F && $0 != "\"" }.prefix(40).map(Character.init))
            return FederationFailure(.providerError, "the provider's token endpoint refused the code (\(code))")
        }
        if status >= 500 { return FederationFailure(.providerUnavailable, "the provider's token endpoint answered HTTP \(status)") }
        return FederationFailure(.providerError, "the provider's token endpoint did not return \(what) (HTTP \(status))")
    }
}
