import Foundation
import Shared

/// Checks an access token this server issued, for every endpoint of ours that is handed one:
/// `/userinfo` (as a credential), `/introspect` and `/revoke` (as the subject). The same checks as
/// a resource server's (RFC 9068 §4): `typ` `at+jwt`, RS256 pinned, a signature by one of our
/// published keys, our `iss`, our resource in `aud` (every access token we mint names it), not
/// expired; and then the revocation ledger, read from the database directly because this
/// process writes it. Nothing here throws for a bad token, only when the database cannot answer.
struct AccessTokenVerifier: Sendable {
    let keys: SigningKeyStore
    let database: Database
    let issuer: String
    let audience: String
    let clock: Clock
    /// With a config file: the identifiers of the other resources we issue tokens for, accepted
    /// in `aud` like `audience` (a token for any of our resources is ours).
    var otherAudiences: [String] = []

    /// The same checks with `audience` as the only accepted `aud` (token exchange: the subject
    /// token must be for the upstream's own resource).
    func requiring(audience: String) -> AccessTokenVerifier {
        AccessTokenVerifier(keys: keys, database: database, issuer: issuer, audience: audience, clock: clock)
    }

    /// The claims of a token signed by one of our published keys, expired or revoked or not:
    /// what revocation needs (RFC 7009 §2.2: an invalid token is answered 200 all the same).
    /// `accept` (e.g. "issued to this client") is asked before the keys are read, and a token it
    /// refuses is nil.
    func signedClaims(_ token: String, where accept: (AccessTokenClaims) -> Bool = { _ in true })
        async throws -> AccessTokenClaims? {
        guard let parsed = try? JWTParser.parse(token, expectedType: JOSEType.accessToken),
              let claims = try? parsed.decodePayload(AccessTokenClaims.self), accept(claims)
        else { return nil }
        let published = try await keys.publishedKeys()
        guard let jwk = published.first(where: { $0.kid == parsed.header.kid }), let key = try? RSAKey(publicJWK: jwk),
              (try? parsed.verifySignature(with: key)) != nil
        else { return nil }
        return claims
    }

    /// The claims of an active token of ours (signed, ours, unexpired, not revoked) that
    /// `accept` takes, or nil.
    func verify(_ token: String, where accept: (AccessTokenClaims) -> Bool = { _ in true })
        async throws -> AccessTokenClaims? {
        guard let claims = try await signedClaims(token, where: accept),
              ([audience] + otherAudiences).contains(where: { audience in
                  (try? claims.validate(issuer: issuer, audience: audience, now: clock.seconds, leeway: 0)) != nil
              }),
              !claims.sub.isEmpty, !claims.jti.isEmpty
        else { return nil }
        guard try await !TokenRevocation.isRevoked(jti: claims.jti, database: database) else { return nil }
        return claims
    }
}
