import Foundation
import Shared

/// `grant_type=refresh_token` (OAuth 2.1 §4.3) with rotation, reuse detection and a grace window.
///
/// RFC 6749 §6: "The requested scope MUST NOT include any scope not originally granted by the
/// resource owner, and if omitted is treated as equal to the scope originally granted."
/// The registered `grant_types` are not enforced here: the Swift SDK registers only
/// `authorization_code` and refreshes anyway.
struct RefreshTokenGrant: Grant {
    static let grantType = "refresh_token"
    let families: TokenFamilyStore
    let tokens: TokenIssuer
    let metrics: AuthMetrics
    let clock: Clock
    /// `GATEHOUSE_REFRESH_GRACE_SECONDS`: how long a rotated token may be retried for the same answer.
    let grace: TimeInterval
    /// GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE: checked only once a rotation is certain.
    var rateLimit: RateLimitGate? = nil

    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse {
        let presented = try form.required("refresh_token")
        let requestedScope = try form.single("scope").map(ScopeSet.init)
        let signer = try await tokens.currentSigner()
        let now = clock.now()
        let (families, tokens, metrics, grace, rateLimit) = (self.families, self.tokens, self.metrics, self.grace, self.rateLimit)
        let address = context.clientAddress
        let hash = Digest.sha256(presented)
        let outcome: GrantOutcome = try await families.transaction { connection in
            let found = try await families.lockRefreshToken(hash: hash, connection: connection)
            switch RefreshDecision.decide(found?.decisionState, clientID: client.clientID, now: now, grace: grace) {
            case .refuse(let reason):
                return .refused(.invalidGrant(reason))
            case .reuseDetected:
                guard let found else { return .refused(.invalidGrant("the refresh token is invalid")) }
                try await families.revokeFamily(found.familyID, reason: "refresh token reused", connection: connection)
                try await AuditLog.record(.refreshReuseDetected, outcome: .failure, clientID: client.clientID,
                                          remoteAddress: context.clientAddress, detail: ["family": found.familyID.uuidString],
                                          connection: connection)
                metrics.refreshReuseDetected.increment()
                return .refused(.invalidGrant("the refresh token was already used; the grant has been revoked"))
            case .replayWithinGrace:
                // Not limited: the answer is the one already given, and a client told to wait
                // might come back after the grace window and trip reuse detection.
                guard let sealed = found?.replaySealed, let answer = try? ReplaySeal.open(sealed, token: presented) else {
                    return .refused(.invalidGrant("the refresh token is invalid"))
                }
                return .issued(answer)
            case .rotate:
                guard let found else { return .refused(.invalidGrant("the refresh token is invalid")) }
                let granted = ScopeSet(found.scope)
                let scope = requestedScope ?? granted
                guard scope.isSubset(of: granted), !scope.isEmpty else {
                    return .refused(OAuthError(.invalidScope, "the requested scope exceeds the original grant"))
                }
                do { try checkRequestedResource(form, grantedResource: found.resource) } catch let error as OAuthError {
                    return .refused(error)
                }
                // Issue 13: "A 429 never hides a terminal answer: a refresh with a revoked token
                // gets invalid_grant, not 429." So the limit is checked here, after every refusal,
                // inside the transaction (one more statement); a limited refresh rotates nothing.
                if let limited = try await rateLimit?.check(key: client.clientID, now: now, clientID: client.clientID,
                                                            remoteAddress: address, connection: connection) {
                    return .refused(limited)
                }
                let access = try tokens.accessToken(
                    signer: signer, subject: found.userID, clientID: client.clientID, scope: scope, resource: found.resource,
                    now: now)
                let next = tokens.refreshToken(now: now)
                let response = tokens.response(access: access, refresh: next, scope: scope.description)
                try await families.rotate(found, presentedHash: hash, at: now, access: access, successor: next,
                                          sealedAnswer: try ReplaySeal.seal(response, token: presented),
                                          connection: connection)
                return .issued(response)
            }
        }
        let response = try outcome.response()
        metrics.refreshes.increment()
        metrics.accessTokensIssued.increment()
        return response
    }
}

/// The answer to a rotation, sealed under a key derived from the refresh token that was
/// rotated. Only someone holding that token can read it again, so the stored copy reveals
/// nothing to a reader of the database, while a retried request gets the same answer.
enum ReplaySeal {
    static func key(for token: String) throws -> KeyEncryptionKey {
        try KeyEncryptionKey(bytes: Digest.sha256(Array("gatehouse refresh replay\u{0}".utf8) + Array(token.utf8)))
    }

    static func seal(_ response: TokenResponse, token: String) throws -> [UInt8] {
        try key(for: token).seal(Array(try JSONEncoder().encode(response)), associatedData: Digest.sha256(token))
    }

    static func open(_ sealed: [UInt8], token: String) throws -> TokenResponse {
        let plain = try key(for: token).open(sealed, associatedData: Digest.sha256(token))
        return try JSONDecoder().decode(TokenResponse.self, from: Data(plain))
    }
}
