import Foundation
import Shared

/// Sign-in with GitHub (or GitHub Enterprise Server): GitHub's OAuth web flow, then the person
/// from its REST API. GitHub issues no ID token, so who signed in is what `GET /user` answers
/// with the access token the code was exchanged for; the token is used for these calls only and
/// never stored.
///
/// - authorize: `<web_url>/login/oauth/authorize` with `client_id`, `redirect_uri`, `scope`,
///   `state` and PKCE S256;
/// - token: `POST <web_url>/login/oauth/access_token` with `Accept: application/json` (GitHub
///   answers a refused code with HTTP 200 and an `error` member);
/// - `GET <api_url>/user` (the numeric `id` is the subject: a login can be renamed and reused);
///   `GET <api_url>/user/emails` for the verified primary address; `GET <api_url>/user/orgs`
///   when `allow.orgs` is set (needs the `read:org` scope for private memberships).
struct GitHubSignIn: UpstreamSignIn {
    let provider: ResolvedIdentityProvider

    private var configuration: IdentityProviderConfiguration { provider.configuration }
    private var http: ProviderHTTPClient { ProviderHTTPClient(allowLoopback: configuration.allowInsecureLoopback) }

    func authorizationURL(state: String, nonce: String, codeChallenge: String, redirectURI: String,
                          now: Date) async throws(FederationFailure) -> String {
        guard let url = URLComponents.appending([
            ("client_id", configuration.clientID), ("redirect_uri", redirectURI),
            ("scope", configuration.scopes.joined(separator: " ")), ("state", state), ("allow_signup", "false"),
            ("code_challenge", codeChallenge), ("code_challenge_method", "S256"),
        ], to: Self.trimmed(configuration.webURL) + "/login/oauth/authorize") else {
            throw FederationFailure(.providerError, "the provider's web_url is not a URL")
        }
        return url
    }

    func identity(code: String, codeVerifier: String, nonce: String, redirectURI: String,
                  now: Date) async throws(FederationFailure) -> FederatedIdentity {
        let token = try await redeem(code: code, codeVerifier: codeVerifier, redirectURI: redirectURI)
        let api = Self.trimmed(configuration.apiURL)
        let user: GitHubUser = try await get(api + "/user", token: token, what: "the user")
        var email = user.email
        var verified = false
        if let emails: [GitHubEmail] = try? await get(api + "/user/emails", token: token, what: "the user's e-mail addresses"),
           let primary = emails.first(where: { $0.primary && $0.verified }) {
            (email, verified) = (primary.email, true)
        }
        var organisations: Set<String> = []
        if !configuration.allow.orgs.isEmpty {
            let orgs: [GitHubOrganisation] = try await get(api + "/user/orgs?per_page=100", token: token, what: "the user's organisations")
            organisations = Set(orgs.map { $0.login.lowercased() })
        }
        return FederatedIdentity(providerID: configuration.id, subject: String(user.id), email: email, emailVerified: verified,
                                 name: user.name, login: user.login, organisations: organisations)
    }

    private func redeem(code: String, codeVerifier: String, redirectURI: String) async throws(FederationFailure) -> String {
        let answer = try await http.postForm(Self.trimmed(configuration.webURL) + "/login/oauth/access_token", fields: [
            ("client_id", configuration.clientID), ("client_secret", provider.clientSecret), ("code", code),
            ("redirect_uri", redirectURI), ("code_verifier", codeVerifier),
        ])
        let body = answer.json(UpstreamTokenResponse.self)
        guard answer.status == 200, let body, body.error == nil, let token = body.access_token, !token.isEmpty else {
            throw UpstreamClientAuthentication.failure(status: answer.status, body: body, what: "an access token")
        }
        return token
    }

    private func get<T: Decodable>(_ url: String, token: String, what: String) async throws(FederationFailure) -> T {
        let answer = try await http.get(url, headers: [
            ("Authorization", "Bearer \(token)"), ("Accept", "application/vnd.github+json"), ("X-GitHub-Api-Version", "2022-11-28"),
        ])
        guard answer.status == 200 else {
            throw FederationFailure(answer.status >= 500 ? .providerUnavailable : .providerError,
                                    "GitHub's API did not return \(what) (HTTP \(answer.status))")
        }
        guard let value = answer.json(T.self) else { throw FederationFailure(.providerError, "GitHub's API answer for \(what) is not what GitHub sends") }
        return value
    }

    private static func trimmed(_ url: String) -> String {
        var text = url
        while text.hasSuffix("/") { text.removeLast() }
        return text
    }
}

/// `GET /user`: https://docs.github.com/en/rest/users/users#get-the-authenticated-user
struct GitHubUser: Decodable, Sendable {
    var id: Int64
    var login: String
    var name: String?
    var email: String?
}

/// `GET /user/emails`: https://docs.github.com/en/rest/users/emails
struct GitHubEmail: Decodable, Sendable {
    var email: String
    var primary: Bool
    var verified: Bool
}

/// `GET /user/orgs`: https://docs.github.com/en/rest/orgs/orgs#list-organizations-for-the-authenticated-user
struct GitHubOrganisation: Decodable, Sendable {
    var login: String
}
