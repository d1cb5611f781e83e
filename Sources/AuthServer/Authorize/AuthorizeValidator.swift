import Foundation
import Shared

/// The checks of `/authorize`, in the order they run. The order matters: until the client and
/// its redirect URI are both validated, an error is shown on our own page and never redirected
/// (RFC 6749 §4.1.2.1: "the authorization server SHOULD inform the resource owner of the error
/// and MUST NOT automatically redirect the user-agent to the invalid redirection URI").
///
///   1. client          client_id names a live client, or a valid   → error page
///                      client ID metadata document URL
///   2. redirect URI    matches a registered one (RFC 8252 ports) → error page
///   3. response type   exactly "code"                            → redirect unsupported_response_type
///   4. PKCE            S256 challenge present; plain refused     → redirect invalid_request
///   5. scope           narrowed to known scopes and to the client's  → redirect invalid_scope
///                      registered scope; absent = default
///   6. resource        RFC 8707, canonical, one we serve          → redirect invalid_target
///                      (absent: the only one; several resources: required)
struct AuthorizeValidator: Sendable {
    let clients: ClientResolver
    /// The resources `resource` may name (ProtectedResources.swift).
    let resources: ProtectedResourceCatalog

    enum Outcome: Sendable {
        /// Shown on our own page: nothing about the redirect URI can be trusted yet.
        case errorPage(OAuthError)
        /// Sent back to the client's validated redirect URI, unless the endpoint decides the URI
        /// is not trusted enough to redirect to before sign-in (`Client.redirectURIsAreVetted`).
        case errorRedirect(ValidatedRedirect, OAuthError, Client)
        case valid(AuthorizationRequest, Client)
    }

    /// The six checks in order. Steps 1 and 2 answer on our own page; from step 3 on, a check
    /// throws its `OAuthError` and the error goes to the validated redirect URI.
    func validate(_ query: [String: [String]]) async throws -> Outcome {
        let parameters = Parameters(query: query)
        do {
            let client = try await self.client(parameters)
            let redirect = try Self.redirect(parameters, client: client)
            do {
                try Self.checkResponseType(parameters)
                let challenge = try Self.codeChallenge(parameters)
                // The resource decides which scopes exist for this request; its own errors come at step 6.
                let target = resources.target(of: parameters.query["resource"] ?? [])
                let scope = try scope(parameters, client: client, target: target)
                let resource = try target.get()
                let nonce = try Self.nonce(parameters)
                // A repeated prompt is ignored, as it always was: it only ever asks for more interaction.
                let prompts = Set(((try? parameters.single("prompt")) ?? nil)?.split(separator: " ").map(String.init) ?? [])
                let request = AuthorizationRequest(
                    clientID: client.clientID, redirectURI: redirect.uri, state: redirect.state, codeChallenge: challenge,
                    scope: scope.description, resource: resource.identifier.value,
                    forceConsent: prompts.contains("consent"), forceLogin: prompts.contains("login"),
                    redirectURIWasSent: try parameters.single("redirect_uri") != nil, nonce: nonce)
                return .valid(request, client)
            } catch let error as OAuthError {
                return .errorRedirect(redirect, error, client)
            }
        } catch let error as OAuthError {
            return .errorPage(error)
        }
    }

    /// The query, read by name. RFC 6749 §3.1: "Request and response parameters MUST NOT be
    /// included more than once."
    struct Parameters {
        let query: [String: [String]]

        func single(_ name: String) throws -> String? {
            guard let values = query[name] else { return nil }
            guard values.count == 1 else { throw OAuthError.invalidRequest("\(name) is repeated") }
            return values[0]
        }
    }

    /// 1. A live client, or a valid client ID metadata document URL.
    private func client(_ parameters: Parameters) async throws -> Client {
        guard let clientID = try? parameters.single("client_id"), !clientID.isEmpty else {
            throw OAuthError.invalidRequest("client_id is missing or repeated")
        }
        // A metadata document that cannot be fetched or is invalid throws its OAuthError here.
        // draft-ietf-oauth-client-id-metadata-document-00 §4.3: "If fetching the metadata document
        // fails, the authorization server SHOULD abort the authorization request."
        guard let client = try await clients.find(clientID) else { throw OAuthError(.invalidClient, "unknown client_id") }
        return client
    }

    /// 2. The redirect URI: optional only when exactly one is registered; matched exactly
    /// (loopback ports excepted, RFC 8252 §7.3) by the only code that can make a `ValidatedRedirect`.
    private static func redirect(_ parameters: Parameters, client: Client) throws -> ValidatedRedirect {
        let sent = try parameters.single("redirect_uri")
        guard let requested = sent ?? (client.redirectURIs.count == 1 ? client.redirectURIs[0] : nil) else {
            throw OAuthError.invalidRequest("redirect_uri is required when a client has several")
        }
        let state = try parameters.single("state")
        guard let redirect = ValidatedRedirect.matched(requested, for: client, state: state) else {
            throw OAuthError.invalidRequest("redirect_uri is not registered for this client")
        }
        return redirect
    }

    /// 3. Exactly `code`.
    private static func checkResponseType(_ parameters: Parameters) throws {
        guard let responseType = try? parameters.single("response_type") else {
            throw OAuthError.invalidRequest("response_type is missing or repeated")
        }
        guard responseType == "code" else {
            throw OAuthError(.unsupportedResponseType, "only response_type=code is supported")
        }
    }

    /// 4. PKCE. OAuth 2.1 §4.1.1: S256 is mandatory here; "plain" is refused.
    private static func codeChallenge(_ parameters: Parameters) throws -> String {
        guard let challenge = try? parameters.single("code_challenge") else {
            throw OAuthError.invalidRequest("code_challenge is required (PKCE with S256)")
        }
        guard (try? parameters.single("code_challenge_method")) == "S256" else {
            throw OAuthError.invalidRequest("code_challenge_method must be S256")
        }
        // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
        guard challenge.count == 43, Base64URL.decode(challenge)?.count == 32 else {
            throw OAuthError.invalidRequest("code_challenge is not a base64url SHA-256 value")
        }
        return challenge
    }

    /// 5. Unknown scope tokens are dropped; nothing left (or nothing asked) means the client's
    /// default: without a config file `client.defaultScope`, with one the requested resource's scopes.
    private func scope(_ parameters: Parameters, client: Client,
                       target: Result<ProtectedResourceCatalog.Resource, OAuthError>) throws -> ScopeSet {
        let grantable = resources.grantableScopes(for: try? target.get())
        var scope = ScopeSet(try parameters.single("scope")).narrowed(to: grantable)
        // A client that registered a `scope` (RFC 7591 §2) may ask for no more than that: the
        // registration is what the operator or the consent screen of the registration vouched for.
        if !client.scope.isEmpty {
            let asked = scope
            scope = scope.narrowed(to: client.scope.tokens)
            if !asked.isEmpty && scope.isEmpty {
                throw OAuthError(.invalidScope, "the requested scope is outside the scope this client registered")
            }
        }
        guard scope.isEmpty else { return scope }
        let fallback = client.scope.isEmpty ? ScopeSet(tokens: (try? target.get())?.scopeNames ?? ScopeCatalog.names)
                                            : client.scope.narrowed(to: grantable)
        guard !fallback.isEmpty else {
            throw OAuthError(.invalidScope, "the scope this client registered has none of this resource's scopes")
        }
        return fallback
    }

    // 6. The resource: RFC 8707 §2 "invalid_target … The requested resource is invalid, missing,
    // unknown, or malformed." `ProtectedResourceCatalog.target(of:)` decides (absent means the one
    // resource we serve; with several it is required).

    /// OpenID Connect Core §3.1.2.1 `nonce`, kept with the request and the code for the ID token.
    private static func nonce(_ parameters: Parameters) throws -> String? {
        let nonce = try parameters.single("nonce")
        if let nonce, nonce.isEmpty || nonce.utf8.count > AuthorizationRequest.maxNonceLength {
            throw OAuthError.invalidRequest("nonce must be 1 to \(AuthorizationRequest.maxNonceLength) bytes")
        }
        return nonce
    }
}
