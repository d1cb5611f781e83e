import Foundation
import Shared

/// `grant_type=refresh_token` (OAuth 2.1 §4.3) with rotation, reuse detection and a grace window.
///
/// RFC 6749 §6: "The requested scope MUST NOT include any scope not originally granted by the
/// resource owner, and if omitted is treated as equal to the scope originally granted."
/// The registered `grant_types` are not enforced here: the Swift SDK registers only
/// `authorization_code` and refreshes anyway.
///
/// Two paths, one decision (`RefreshDecision`). The fast path reads the token without a lock,
/// decides, signs, and writes the rotation in one statement that re-checks the decision's
/// premises and takes the token limit's unit (`TokenFamilyStore.rotateIfStillLive`): two round
/// trips and one signature, with no connection held while signing. A refusal or a replay it decides writes nothing and is answered
/// at once. Everything else, reuse detection (which revokes) and a rotation whose premises no
/// longer held when it was written (a concurrent refresh won), goes to the transactional path:
/// lock, decide again, write, in one transaction, which stays the reference.
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
    /// One fast-path rotation per token at a time in this process (see `RefreshesInFlight`).
    var inFlight = RefreshesInFlight()

    /// What one refresh request presents, read once.
    private struct Presented: Sendable {
        let token: String
        let hash: [UInt8]
        let requestedScope: ScopeSet?
        let form: FormBody
        let clientID: String
        let clientAddress: String
        let now: Date
        let signer: SigningKeyStore.Signer
    }

    /// What a rotation issues, minted before it is written.
    private struct Minted: Sendable {
        let access: TokenIssuer.AccessToken
        let successor: TokenIssuer.RefreshToken
        let response: TokenResponse
        let sealedAnswer: [UInt8]
    }

    func handle(form: FormBody, client: Client, context: AuthRequestContext) async throws -> TokenResponse {
        let token = try form.required("refresh_token")
        let request = Presented(token: token, hash: Digest.sha256(token),
                                requestedScope: try form.single("scope").map(ScopeSet.init), form: form,
                                clientID: client.clientID, clientAddress: context.clientAddress, now: clock.now(),
                                signer: try await tokens.currentSigner())
        let outcome: GrantOutcome
        if let decided = try await decideUnlocked(request) {
            outcome = decided
        } else {
            outcome = try await decideLocked(request)
        }
        let response = try outcome.response()
        metrics.refreshes.increment()
        metrics.accessTokensIssued.increment()
        return response
    }

    /// The fast path; nil when only the transactional path may answer. A request that finds the
    /// same token being rotated by another one of this process reads again once that one is done.
    private func decideUnlocked(_ request: Presented, again: Bool = false) async throws -> GrantOutcome? {
        let found = try await families.readRefreshToken(hash: request.hash)
        switch RefreshDecision.decide(found?.decisionState, clientID: request.clientID, now: request.now, grace: grace) {
        case .refuse(let reason):
            return .refused(.invalidGrant(reason))
        case .replayWithinGrace:
            return Self.replay(found, request)
        case .reuseDetected:
            return nil
        case .rotate:
            guard let found else { return nil }
            let scope: ScopeSet
            switch try Self.checkedScope(request, found) {
            case .failure(let refusal): return .refused(refusal)
            case .success(let checked): scope = checked
            }
            // Issue 13's token limit is taken by the same statement, only where the token is
            // still live, so a 429 never hides a terminal answer and a limited refresh rotates
            // nothing; with the limit off (0) the statement takes nothing.
            let gate = rateLimit.flatMap { $0.rule.isOff ? nil : $0 }
            let limit = gate.map { gate in
                TokenFamilyStore.RotationLimit(bucket: RateLimiter.bucket(gate.rule, key: request.clientID),
                                               windowStart: gate.rule.windowStart(at: request.now), maximum: gate.rule.maximum)
            }
            let rotation = try await inFlight.leading(request.hash) {
                let minted = try mint(request, found, scope: scope)
                return (minted, try await families.rotateIfStillLive(
                    found, presentedHash: request.hash, clientID: request.clientID, at: request.now, access: minted.access,
                    successor: minted.successor, sealedAnswer: minted.sealedAnswer, limit: limit))
            }
            guard let (minted, outcome) = rotation else {
                return again ? nil : try await decideUnlocked(request, again: true)
            }
            switch outcome {
            case .rotated:
                return .issued(minted.response)
            case .limited(let firstInWindow):
                guard let gate else { return nil }
                return .refused(try await gate.refused(key: request.clientID, firstInWindow: firstInWindow, now: request.now,
                                                       clientID: request.clientID, remoteAddress: request.clientAddress))
            case .premisesChanged:
                return nil
            }
        }
    }

    /// The transactional path: the token locked, decided, and written in one transaction.
    private func decideLocked(_ request: Presented) async throws -> GrantOutcome {
        let (families, metrics, grace, rateLimit) = (self.families, self.metrics, self.grace, self.rateLimit)
        return try await families.transaction { connection in
            let found = try await families.lockRefreshToken(hash: request.hash, connection: connection)
            switch RefreshDecision.decide(found?.decisionState, clientID: request.clientID, now: request.now, grace: grace) {
            case .refuse(let reason):
                return .refused(.invalidGrant(reason))
            case .reuseDetected:
                guard let found else { return .refused(.invalidGrant("the refresh token is invalid")) }
                try await families.revokeFamily(found.familyID, reason: "refresh token reused", connection: connection)
                try await AuditLog.record(.refreshReuseDetected, outcome: .failure, clientID: request.clientID,
                                          remoteAddress: request.clientAddress, detail: ["family": found.familyID.uuidString],
                                          connection: connection)
                metrics.refreshReuseDetected.increment()
                return .refused(.invalidGrant("the refresh token was already used; the grant has been revoked"))
            case .replayWithinGrace:
                // Not limited: the answer is the one already given, and a client told to wait
                // might come back after the grace window and trip reuse detection.
                return Self.replay(found, request)
            case .rotate:
                guard let found else { return .refused(.invalidGrant("the refresh token is invalid")) }
                let scope: ScopeSet
                switch try Self.checkedScope(request, found) {
                case .failure(let refusal): return .refused(refusal)
                case .success(let checked): scope = checked
                }
                // Issue 13: "A 429 never hides a terminal answer: a refresh with a revoked token
                // gets invalid_grant, not 429." So the limit is checked here, after every refusal,
                // inside the transaction (one more statement); a limited refresh rotates nothing.
                if let limited = try await rateLimit?.check(key: request.clientID, now: request.now, clientID: request.clientID,
                                                            remoteAddress: request.clientAddress, connection: connection) {
                    return .refused(limited)
                }
                let minted = try mint(request, found, scope: scope)
                try await families.rotate(found, presentedHash: request.hash, at: request.now, access: minted.access,
                                          successor: minted.successor, sealedAnswer: minted.sealedAnswer,
                                          connection: connection)
                return .issued(minted.response)
            }
        }
    }

    /// The answer sealed at the rotation, opened with the presented token.
    private static func replay(_ found: TokenFamilyStore.LockedRefreshToken?, _ request: Presented) -> GrantOutcome {
        guard let sealed = found?.replaySealed, let answer = try? ReplaySeal.open(sealed, token: request.token) else {
            return .refused(.invalidGrant("the refresh token is invalid"))
        }
        return .issued(answer)
    }

    /// The scope to issue (RFC 6749 §6) and the `resource` check (RFC 8707 §2.2).
    private static func checkedScope(_ request: Presented, _ found: TokenFamilyStore.LockedRefreshToken) throws
        -> Result<ScopeSet, OAuthError> {
        let granted = ScopeSet(found.scope)
        let scope = request.requestedScope ?? granted
        guard scope.isSubset(of: granted), !scope.isEmpty else {
            return .failure(OAuthError(.invalidScope, "the requested scope exceeds the original grant"))
        }
        do { try checkRequestedResource(request.form, grantedResource: found.resource) } catch let error as OAuthError {
            return .failure(error)
        }
        return .success(scope)
    }

    /// The one signature of a rotation, the successor, and the answer sealed for a retry.
    private func mint(_ request: Presented, _ found: TokenFamilyStore.LockedRefreshToken, scope: ScopeSet) throws -> Minted {
        let access = try tokens.accessToken(
            signer: request.signer, subject: found.userID, clientID: request.clientID, scope: scope,
            resource: found.resource, now: request.now)
        let successor = tokens.refreshToken(now: request.now)
        let response = tokens.response(access: access, refresh: successor, scope: scope.description)
        return Minted(access: access, successor: successor, response: response,
                      sealedAnswer: try ReplaySeal.seal(response, token: request.token))
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
