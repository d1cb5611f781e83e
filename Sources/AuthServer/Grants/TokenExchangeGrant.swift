import Foundation
import Shared

/// `grant_type=urn:ietf:params:oauth:grant-type:token-exchange` (RFC 8693): the gateway's
/// resource server trades its caller's access token for a short-lived token for one upstream MCP
/// server, so the upstream learns who the caller is without ever seeing the caller's token.
///
/// Checked in this order, each refusal a 400 with the code shown:
///
/// | check                                                                  | error                 |
/// |------------------------------------------------------------------------|-----------------------|
/// | the client is confidential and allowed to exchange                     | `unauthorized_client` |
/// | `subject_token`, `subject_token_type` present; no `actor_token`        | `invalid_request`     |
/// | `subject_token_type` (and `requested_token_type`) is `access_token`    | `invalid_request`     |
/// | one `audience`/`resource`, an upstream the deployment names            | `invalid_target`      |
/// | the subject token is ours, for that upstream's resource, unexpired, not revoked, not itself exchanged | `invalid_request` |
/// | `scope`, if sent, is within the subject token's                        | `invalid_scope`       |
///
/// RFC 8693 §2.2.2: "If the request itself is not valid or if either the "subject_token" or
/// "actor_token" are invalid for any reason, or are unacceptable based on policy, the
/// authorization server MUST construct an error response … The value of the "error" parameter
/// MUST be the "invalid_request" error code. If the authorization server is unwilling or unable
/// to issue a token for any target service indicated by the "resource" or "audience" parameters,
/// the "invalid_target" error code SHOULD be used".
struct TokenExchangeGrant: Grant {
    static let grantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    /// RFC 8693 §3: "Indicates that the token is an OAuth 2.0 access token issued by the given
    /// authorization server."
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    let settings: TokenExchangeSettings
    let exchanged: ExchangedTokenStore
    /// The one check of our access tokens; narrowed per target to that resource's `aud`.
    let accessTokens: AccessTokenVerifier
    let tokens: TokenIssuer
    let audit: AuditLog
    let metrics: AuthMetrics
    let clock: Clock
    /// GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE, checked after every check of the table above.
    var rateLimit: RateLimitGate? = nil

    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse {
        var audit: [String: String] = [:]
        do {
            let response = try await exchange(form: form, client: client, audit: &audit)
            await self.audit.record(.tokenExchanged, username: audit.removeValue(forKey: "username"), clientID: client.clientID,
                                   remoteAddress: context.clientAddress, detail: audit)
            metrics.accessTokensIssued.increment()
            return response
        } catch let error as OAuthError {
            audit["error"] = error.code.rawValue
            audit["reason"] = error.errorDescription
            await self.audit.record(.tokenExchangeRefused, outcome: .failure, username: audit.removeValue(forKey: "username"),
                                   clientID: client.clientID, remoteAddress: context.clientAddress, detail: audit)
            throw error
        }
    }

    private func exchange(form: FormBody, client: Client, audit: inout [String: String]) async throws -> TokenResponse {
        // RFC 8693 §5: tokens go only "to clients that are authorized to receive them".
        guard settings.allows(client) else {
            throw OAuthError(.unauthorizedClient, "this client is not allowed to exchange tokens")
        }
        let subjectToken = try form.required("subject_token")
        let subjectType = try form.required("subject_token_type")
        // §2.1: actor_token is OPTIONAL; delegation to a third party is not offered here.
        if try form.single("actor_token") != nil || form.single("actor_token_type") != nil {
            throw OAuthError.invalidRequest("actor_token is not supported")
        }
        guard subjectType == Self.accessTokenType else {
            throw OAuthError.invalidRequest("subject_token_type must be \(Self.accessTokenType)")
        }
        if let requested = try form.single("requested_token_type"), requested != Self.accessTokenType {
            throw OAuthError.invalidRequest("requested_token_type must be \(Self.accessTokenType)")
        }
        let target = try target(form)
        audit["audience"] = target.audience
        let subject = try await verifiedSubject(subjectToken, for: target)
        audit["subject"] = subject.sub
        audit["subject_client_id"] = subject.client_id
        let scope = try Self.scope(form, subject: subject)
        guard let userID = UUID(uuidString: subject.sub) else {
            throw OAuthError.invalidRequest("the subject_token is invalid, expired or revoked")
        }
        // Every refusal above is terminal and answered first; only an exchange that would be made
        // is limited. (`exchanged.record` below refuses only what the verifier already checked,
        // again under lock: a revoked family or disabled account has its tokens in the ledger.)
        if let limited = try await rateLimit?.check(key: client.clientID, now: clock.now(), clientID: client.clientID) {
            throw limited
        }
        let signer = try await tokens.currentSigner()
        let issued = try tokens.exchangedToken(signer: signer, subject: subject, audience: target.audience, scope: scope,
                                                   actor: client.clientID, lifetime: settings.lifetime, now: clock.seconds)
        switch try await exchanged.record(subjectJTI: subject.jti, userID: userID, jti: issued.jti,
                                          clientID: subject.client_id, expiresAt: issued.expiresAt) {
        case .refused(let reason):
            throw OAuthError.invalidRequest(reason)
        case .recorded(let username):
            audit["username"] = username
        }
        audit["jti"] = issued.jti
        return TokenResponse(access_token: issued.token, token_type: "Bearer", expires_in: issued.claims.exp - issued.claims.iat,
                             refresh_token: nil, scope: scope.description, issued_token_type: Self.accessTokenType)
    }

    /// RFC 8693 §2.1: `resource` "indicates the location of the target service or resource where
    /// the client intends to use the requested security token"; `audience` is its logical name.
    /// Ours are the upstreams' URLs, so either names one; all values given must name the same one.
    private func target(_ form: FormBody) throws -> TokenExchangeSettings.Target {
        let requested = (form.values["audience"] ?? []) + (form.values["resource"] ?? [])
        guard !requested.isEmpty else { throw OAuthError.invalidRequest("audience is required: the upstream's URL") }
        let targets = requested.map(settings.target(for:))
        guard let first = targets.first, let target = first, targets.allSatisfy({ $0 == target }) else {
            throw OAuthError(.invalidTarget, "the audience is not an upstream this server issues tokens for")
        }
        return target
    }

    /// The one `AccessTokenVerifier` (signature with a published key, `typ`, `iss`, `exp`,
    /// revocation), with the target's resource as the required `aud`.
    private func verifiedSubject(_ token: String, for target: TokenExchangeSettings.Target) async throws -> AccessTokenClaims {
        // A token that names an actor was issued by an exchange: it is never exchanged again.
        if let parsed = try? JWTParser.parse(token, expectedType: JOSEType.accessToken),
           let probe = try? parsed.decodePayload(ActorProbe.self), probe.act == nil {
            for resource in target.resources {
                if let claims = try await accessTokens.requiring(audience: resource).verify(token) { return claims }
            }
        }
        throw OAuthError.invalidRequest("the subject_token is invalid, expired or revoked")
    }

    /// RFC 8693 §2.1 `scope`: "the desired scope of the requested security token in the context of
    /// the service or resource where the token will be used". At most what the subject token has.
    private static func scope(_ form: FormBody, subject: AccessTokenClaims) throws -> ScopeSet {
        let granted = ScopeSet(subject.scope)
        guard let requested = try form.single("scope").map(ScopeSet.init) else { return granted }
        guard !requested.isEmpty, requested.isSubset(of: granted) else {
            throw OAuthError(.invalidScope, "the requested scope exceeds the subject token's")
        }
        return requested
    }
}
