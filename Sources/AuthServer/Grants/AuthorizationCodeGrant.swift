import Foundation
import Shared

/// `grant_type=authorization_code` (OAuth 2.1 §4.1.3).
///
/// "The authorization server MUST … ensure that the authorization code was issued to the
/// authenticated confidential client, or … to the client_id in the request; verify that the
/// authorization code is valid; verify that the code_verifier parameter is present … ; ensure
/// that the redirect_uri parameter is present if the redirect_uri parameter was included in the
/// initial authorization request … and if included ensure that their values are identical."
/// And §4.1.2: "If an authorization code is used more than once, the authorization server MUST
/// deny the request and SHOULD revoke (when possible) all access tokens and refresh tokens
/// previously issued based on that authorization code."
///
/// With `openid` granted the response also carries an ID token (OpenID Connect Core §3.1.3.3:
/// "the Client then uses the Authorization Code to obtain … an ID Token"). The user's row is
/// share-locked before anything is minted, so a concurrent `users disable` either sees the new
/// token family and revokes it, or commits first and the code is refused.
struct AuthorizationCodeGrant: Grant {
    static let grantType = "authorization_code"
    let families: TokenFamilyStore
    let tokens: TokenIssuer
    let metrics: AuthMetrics
    let clock: Clock
    /// GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE: checked only once the code would be exchanged.
    var rateLimit: RateLimitGate? = nil

    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse {
        let code = try form.required("code")
        let verifier = try form.single("code_verifier")
        let redirectURI = try form.single("redirect_uri")
        let signer = try await tokens.currentSigner()
        let now = clock.now()
        let (families, tokens, metrics, rateLimit) = (self.families, self.tokens, self.metrics, self.rateLimit)
        let address = context.clientAddress
        let codeHash = Digest.sha256(code)
        let outcome: GrantOutcome = try await families.transaction { connection in
            guard let found = try await families.lockCode(hash: codeHash, connection: connection) else {
                return .refused(.invalidGrant("the authorization code is invalid"))
            }
            guard found.clientID == client.clientID else { return .refused(.invalidGrant("the code was issued to another client")) }
            if found.consumedAt != nil {
                if let familyID = found.familyID {
                    try await families.revokeFamily(familyID, reason: "authorization code replayed", connection: connection)
                }
                try await AuditLog.record(.codeReplayDetected, outcome: .failure, clientID: client.clientID,
                                          remoteAddress: context.clientAddress, connection: connection)
                metrics.codeReplayDetected.increment()
                return .refused(.invalidGrant("the authorization code was already used"))
            }
            // Any failure from here on also burns the code: a verifier cannot be guessed by retrying.
            if let refusal = Self.refusal(found, redirectURI: redirectURI, verifier: verifier, client: client, form: form,
                                          now: now) {
                try await families.burnCode(hash: codeHash, at: now, connection: connection)
                return .refused(refusal)
            }
            guard let user = try await UserStore.lockedForGrant(id: found.userID, connection: connection), !user.disabled else {
                try await families.burnCode(hash: codeHash, at: now, connection: connection)
                return .refused(.invalidGrant("the account the code was issued for is disabled"))
            }
            // After every refusal (a bad, used or expired code is still invalid_grant), before
            // anything is written: a limited exchange leaves the code unused for a retry.
            if let limited = try await rateLimit?.check(key: client.clientID, now: now, clientID: client.clientID,
                                                        remoteAddress: address, connection: connection) {
                return .refused(limited)
            }
            let scopeSet = ScopeSet(found.scope)
            let access = try tokens.accessToken(
                signer: signer, subject: found.userID, clientID: client.clientID, scope: scopeSet, resource: found.resource,
                now: now)
            // Only a code issued by a version that did not record auth_time (an upgrade in the
            // middle of a sign-in, codes live 60 s) lacks it; `now` is then the best we know.
            let signedInAt = found.authTime ?? now
            let idToken = scopeSet.contains(ScopeCatalog.openID)
                ? try tokens.idToken(signer: signer, user: user, clientID: client.clientID, scope: scopeSet, nonce: found.nonce,
                                     authTime: signedInAt, accessToken: access.token, now: now)
                : nil
            // Refresh tokens go to every client, even one that did not register the grant: the
            // Swift SDK registers without it and refreshes anyway.
            let refresh = tokens.refreshToken(now: now)
            let family = TokenFamilyStore.NewFamily(id: UUID(), clientID: client.clientID, userID: found.userID,
                                                    scope: found.scope, resource: found.resource, authTime: signedInAt)
            try await families.recordIssued(family, exchangingCode: codeHash, at: now, access: access, refresh: refresh,
                                            connection: connection)
            return .issued(tokens.response(access: access, refresh: refresh, scope: found.scope, idToken: idToken))
        }
        let response = try outcome.response()
        metrics.accessTokensIssued.increment()
        return response
    }

    /// The checks after the code is found, unused and the client's own, in the order of §4.1.3.
    private static func refusal(_ code: TokenFamilyStore.LockedCode, redirectURI: String?, verifier: String?,
                                client: Client, form: FormBody, now: Date) -> OAuthError? {
        let (codeRedirect, challenge, resource) = (code.redirectURI, code.codeChallenge, code.resource)
        guard code.expiresAt > now else { return .invalidGrant("the authorization code has expired") }
        if codeRedirect.isEmpty {
            // Not named at /authorize (one registered URI): optional here, but if sent it must be that one.
            if let redirectURI, !client.redirectURIs.contains(redirectURI) {
                return .invalidGrant("redirect_uri does not match the authorization request")
            }
        } else if redirectURI != codeRedirect {
            return .invalidGrant("redirect_uri does not match the authorization request")
        }
        guard let verifier else { return .invalidGrant("code_verifier is required") }
        guard isValidCodeVerifier(verifier), Base64URL.encode(Digest.sha256(verifier)) == challenge else {
            return .invalidGrant("code_verifier does not match the code_challenge")
        }
        do { try checkRequestedResource(form, grantedResource: resource) } catch {
            return error as? OAuthError ?? OAuthError(.invalidTarget, "the resource does not match the grant")
        }
        return nil
    }

}
