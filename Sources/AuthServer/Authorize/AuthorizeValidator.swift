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

    func validate(_ query: [String: [String]]) async throws -> Outcome {
        func single(_ name: String) -> String?? {
            guard let values = query[name] else { return .some(nil) }
            // RFC 6749 §3.1: "Request and response parameters MUST NOT be included more than once."
            return values.count == 1 ? .some(values[0]) : .none
        }
        // 1. client
        guard case .some(let clientIDValue) = single("client_id"), let clientID = clientIDValue, !clientID.isEmpty else {
            return .errorPage(.invalidRequest("client_id is missing or repeated"))
        }
        let found: Client?
        do {
            found = try await clients.find(clientID)
        } catch let error as OAuthError {
            // A metadata document that cannot be fetched or is invalid. draft-ietf-oauth-client-id-
            // metadata-document-00 §4.3: "If fetching the metadata document fails, the
            // authorization server SHOULD abort the authorization request."
            return .errorPage(error)
        }
        guard let client = found else {
            return .errorPage(OAuthError(.invalidClient, "unknown client_id"))
        }
        // 2. redirect URI (optional only when exactly one is registered)
        guard case .some(let redirectValue) = single("redirect_uri") else {
            return .errorPage(.invalidRequest("redirect_uri is repeated"))
        }
        guard let requestedRedirect = redirectValue ?? (client.redirectURIs.count == 1 ? client.redirectURIs[0] : nil) else {
            return .errorPage(.invalidRequest("redirect_uri is required when a client has several"))
        }
        guard case .some(let stateValue) = single("state") else {
            return .errorPage(.invalidRequest("state is repeated"))
        }
        guard let redirect = ValidatedRedirect.matched(requestedRedirect, for: client, state: stateValue) else {
            return .errorPage(.invalidRequest("redirect_uri is not registered for this client"))
        }
        func fail(_ error: OAuthError) -> Outcome { .errorRedirect(redirect, error, client) }

        // 3. response type
        guard case .some(let responseType) = single("response_type"), let responseType else {
            return fail(.invalidRequest("response_type is missing or repeated"))
        }
        guard responseType == "code" else {
            return fail(OAuthError(.unsupportedResponseType, "only response_type=code is supported"))
        }
        // 4. PKCE — OAuth 2.1 §4.1.1: S256 is mandatory here; "plain" is refused.
        guard case .some(let challengeValue) = single("code_challenge"), let challenge = challengeValue else {
            return fail(.invalidRequest("code_challenge is required (PKCE with S256)"))
        }
        guard case .some(let method) = single("code_challenge_method"), method == "S256" else {
            return fail(.invalidRequest("code_challenge_method must be S256"))
        }
        // RFC 7636 §4.2: BASE64URL(SHA256(verifier)) is always 43 characters.
        guard challenge.count == 43, Base64URL.decode(challenge)?.count == 32 else {
            return fail(.invalidRequest("code_challenge is not a base64url SHA-256 value"))
        }
        // 5. scope: unknown tokens are dropped; nothing left (or nothing asked) means the client's default.
        guard case .some(let scopeValue) = single("scope") else { return fail(.invalidRequest("scope is repeated")) }
        // The resource decides which scopes exist for this request; its own errors come at step 6.
        let target = resources.target(of: query["resource"] ?? [])
        let grantable = resources.grantableScopes(for: try? target.get())
        var scope = ScopeSet(scopeValue).narrowed(to: grantable)
        // A client that registered a `scope` (RFC 7591 §2) may ask for no more than that: the
        // registration is what the operator or the consent screen of the registration vouched for.
        if !client.scope.isEmpty {
            let asked = scope
            scope = scope.narrowed(to: client.scope.tokens)
            if !asked.isEmpty && scope.isEmpty {
                return fail(OAuthError(.invalidScope, "the requested scope is outside the scope this client registered"))
            }
        }
        if scope.isEmpty {
            // Without a config file this is `client.defaultScope`, as before.
            scope = client.scope.isEmpty ? ScopeSet(tokens: (try? target.get())?.scopeNames ?? ScopeCatalog.names)
                                         : client.scope.narrowed(to: grantable)
            if scope.isEmpty {
                return fail(OAuthError(.invalidScope, "the scope this client registered has none of this resource's scopes"))
            }
        }
        // 6. resource (RFC 8707 §2: "invalid_target … The requested resource is invalid, missing,
        //    unknown, or malformed."). Absent means the one resource we serve (with several: required).
        let resource: ProtectedResourceCatalog.Resource
        switch target {
        case .success(let found): resource = found
        case .failure(let error): return fail(error)
        }
        // OpenID Connect Core §3.1.2.1 `nonce`, kept with the request and the code for the ID token.
        guard case .some(let nonce) = single("nonce") else { return fail(.invalidRequest("nonce is repeated")) }
        if let nonce, nonce.isEmpty || nonce.utf8.count > AuthorizationRequest.maxNonceLength {
            return fail(.invalidRequest("nonce must be 1 to \(AuthorizationRequest.maxNonceLength) bytes"))
        }
        let prompts = Set((single("prompt") ?? nil)?.split(separator: " ").map(String.init) ?? [])
        let request = AuthorizationRequest(
            clientID: client.clientID, redirectURI: redirect.uri, state: redirect.state, codeChallenge: challenge,
            scope: scope.description, resource: resource.identifier.value,
            forceConsent: prompts.contains("consent"), forceLogin: prompts.contains("login"),
            redirectURIWasSent: redirectValue != nil, nonce: nonce)
        return .valid(request, client)
    }
}
