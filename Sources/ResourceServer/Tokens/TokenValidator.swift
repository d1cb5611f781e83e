import Foundation
import Shared

/// The database or feed could not say whether a token is revoked: answer 503, never "valid".
struct RevocationStatusUnavailable: Error, CustomStringConvertible {
    let underlying: any Error
    var description: String { "revocation status unavailable: \(String(reflecting: underlying))" }
}

/// Validates RFC 9068 JWT access tokens issued by our authorization server for this resource.
///
/// MCP authorization (2025-06-18, Token Handling): "MCP servers MUST validate access tokens as
/// described in OAuth 2.1 Section 5.2" and "MUST validate that access tokens were issued specifically
/// for them as the intended audience". RFC 9068 §4 lists the checks, in the order done here:
/// `typ` is `at+jwt`, the algorithm is the one we expect (RS256, pinned, never read from the token),
/// the signature verifies with the AS key named by `kid`, `iss` matches exactly, `aud` contains our
/// resource, and the current time is before `exp` (and after `nbf`), with a 30 s leeway for clock skew.
/// `exp − iat` may not exceed the configured access-token lifetime (plus the leeway), so a token
/// minted with a stolen key cannot be made to outlive that key's retirement by a long `exp`.
/// Revocation, of the token and of its signing key, is checked last and on every request,
/// including cache hits.
struct TokenValidator: Sendable {
    let issuer: String
    let audience: String
    let keys: JWKSCache
    let revocations: RevocationFeed
    let cache: ValidatedTokenCache
    let clock: Clock
    /// The longest `exp − iat` accepted (GATEHOUSE_ACCESS_TOKEN_TTL), before the leeway.
    let maximumLifetime: Int
    var leeway = 30
    /// API keys (`gh_pat_…`) are checked by this instead; nil when `GATEHOUSE_API_KEYS=false`, and
    /// then every key is refused as an invalid token.
    var apiKeys: APIKeyValidator? = nil

    /// Throws `TokenRejection` (answer 401) or `RevocationStatusUnavailable` (answer 503).
    func validate(_ token: String) async throws -> VerifiedIdentity {
        if APIKeySecret.isAPIKey(token) {
            guard let apiKeys else { throw TokenRejection.apiKey(.disabled) }
            return try await apiKeys.validate(token, resource: audience)
        }
        let seconds = clock.seconds
        let cacheKey = ValidatedTokenCache.key(for: token)
        let validated: ValidatedTokenCache.Entry
        if let cached = cache.entry(forKey: cacheKey, now: seconds, leeway: leeway) {
            validated = cached
        } else {
            let (claims, keyID): (AccessTokenClaims, String)
            do {
                (claims, keyID) = try await verify(token, now: seconds)
            } catch {
                throw TokenRejection.invalidToken(error)
            }
            let identity = VerifiedIdentity(subject: claims.sub, clientID: claims.client_id,
                                            scopes: ScopeSet(claims.scope), tokenID: claims.jti)
            validated = ValidatedTokenCache.Entry(identity: identity, keyID: keyID, expiresAt: claims.exp)
            cache.insert(validated, forKey: cacheKey, now: seconds, leeway: leeway)
        }
        let status: RevocationFeed.Status
        do {
            status = try await revocations.status(jti: validated.identity.tokenID, keyID: validated.keyID)
        } catch {
            throw RevocationStatusUnavailable(underlying: error)
        }
        switch status {
        case .valid: return validated.identity
        case .tokenRevoked: throw TokenRejection.revoked
        case .keyRevoked: throw TokenRejection.signingKeyRevoked
        }
    }

    private func verify(_ token: String, now seconds: Int) async throws(JWTError) -> (AccessTokenClaims, String) {
        let parsed = try JWTParser.parse(token, expectedType: JOSEType.accessToken)
        // The parser guarantees a non-empty kid.
        let keyID = parsed.header.kid ?? ""
        let key = try await keys.key(for: keyID)
        try parsed.verifySignature(with: key)
        let claims = try parsed.decodePayload(AccessTokenClaims.self)
        try claims.validate(issuer: issuer, audience: audience, now: seconds, leeway: leeway, maximumLifetime: maximumLifetime)
        guard !claims.sub.isEmpty else { throw .missingClaim("sub") }
        guard !claims.jti.isEmpty else { throw .missingClaim("jti") }
        return (claims, keyID)
    }
}
