import Foundation
import NIOCore
import PostgresNIO
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
    let env: AuthServerEnvironment

    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse {
        let code = try form.required("code")
        let verifier = try form.single("code_verifier")
        let redirectURI = try form.single("redirect_uri")
        let signer = try await env.keys.currentSigner()
        let now = env.clock.now()
        let env = self.env
        let codeHash = ByteBuffer(bytes: Digest.sha256(code))
        let outcome: GrantOutcome = try await env.database.transaction { connection in
            let rows = try await connection.query("""
                SELECT client_id, user_id, redirect_uri, code_challenge, scope, resource, expires_at, consumed_at, family_id,
                       nonce, auth_time
                FROM authorization_codes WHERE code_hash = \(codeHash) FOR UPDATE
                """, logger: connection.logger)
            typealias Row = (String, UUID, String, String, String, String, Date, Date?, UUID?, String?, Date?)
            var found: Row?
            for try await row in rows.decode(Row.self) { found = row }
            guard let (codeClient, userID, codeRedirect, challenge, scope, resource, expiresAt, consumedAt, familyID,
                       nonce, authTime) = found else {
                return .refused(.invalidGrant("the authorization code is invalid"))
            }
            guard codeClient == client.clientID else { return .refused(.invalidGrant("the code was issued to another client")) }
            if consumedAt != nil {
                if let familyID {
                    try await TokenRevocation.revokeFamily(familyID, reason: "authorization code replayed", connection: connection)
                }
                try await AuditLog.record(.codeReplayDetected, outcome: .failure, clientID: client.clientID,
                                          remoteAddress: context.peerAddress, connection: connection)
                env.metrics.codeReplayDetected.increment()
                return .refused(.invalidGrant("the authorization code was already used"))
            }
            // Any failure from here on also burns the code: a verifier cannot be guessed by retrying.
            if let refusal = Self.refusal(expiresAt: expiresAt, codeRedirect: codeRedirect, challenge: challenge,
                                          resource: resource, redirectURI: redirectURI, verifier: verifier,
                                          client: client, form: form, now: now) {
                _ = try await connection.query(
                    "UPDATE authorization_codes SET consumed_at = \(now) WHERE code_hash = \(codeHash)", logger: connection.logger)
                return .refused(refusal)
            }
            guard let user = try await UserStore.lockedForGrant(id: userID, connection: connection), !user.disabled else {
                _ = try await connection.query(
                    "UPDATE authorization_codes SET consumed_at = \(now) WHERE code_hash = \(codeHash)", logger: connection.logger)
                return .refused(.invalidGrant("the account the code was issued for is disabled"))
            }
            let family = UUID()
            let scopeSet = ScopeSet(scope)
            let access = try env.tokens.accessToken(
                signer: signer, subject: userID, clientID: client.clientID, scope: scopeSet, resource: resource, now: now)
            // Only a code issued by a version that did not record auth_time (an upgrade in the
            // middle of a sign-in, codes live 60 s) lacks it; `now` is then the best we know.
            let signedInAt = authTime ?? now
            let idToken = scopeSet.contains(ScopeCatalog.openID)
                ? try env.tokens.idToken(signer: signer, user: user, clientID: client.clientID, scope: scopeSet, nonce: nonce,
                                         authTime: signedInAt, accessToken: access.token, now: now)
                : nil
            // Refresh tokens go to every client, even one that did not register the grant: the
            // Swift SDK registers without it and refreshes anyway.
            let refresh = env.tokens.refreshToken(now: now)
            // One statement: the family, the spent code, the access token's record and the refresh token.
            _ = try await connection.query("""
                WITH family AS (
                    INSERT INTO token_families (id, client_id, user_id, scope, resource, auth_time)
                    VALUES (\(family), \(client.clientID), \(userID), \(scope), \(resource), \(signedInAt))),
                code AS (
                    UPDATE authorization_codes SET consumed_at = \(now), family_id = \(family) WHERE code_hash = \(codeHash)),
                access AS (
                    INSERT INTO access_tokens (jti, family_id, client_id, expires_at)
                    VALUES (\(access.jti), \(family), \(client.clientID), \(access.expiresAt)))
                INSERT INTO refresh_tokens (token_hash, family_id, scope, expires_at)
                VALUES (\(refresh.hash), \(family), \(scope), \(refresh.expiresAt))
                """, logger: connection.logger)
            return .issued(TokenResponse(access_token: access.token, token_type: "Bearer",
                                         expires_in: env.configuration.accessTokenLifetime, refresh_token: refresh.token,
                                         scope: scope, id_token: idToken))
        }
        let response = try outcome.response()
        env.metrics.accessTokensIssued.increment()
        return response
    }

    /// The checks after the code is found, unused and the client's own, in the order of §4.1.3.
    private static func refusal(expiresAt: Date, codeRedirect: String, challenge: String, resource: String,
                                redirectURI: String?, verifier: String?, client: Client, form: FormBody,
                                now: Date) -> OAuthError? {
        guard expiresAt > now else { return .invalidGrant("the authorization code has expired") }
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
