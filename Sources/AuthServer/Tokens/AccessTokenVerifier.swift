import Foundation
import Shared

/// Checks an access token this server issued: for `/userinfo`, which accepts one as a credential,
/// and for `/introspect`, which describes one. The same checks as a resource server's (RFC 9068 §4): `typ`
/// `at+jwt`, RS256 pinned, a signature by one of our published keys, our `iss`, our resource in
/// `aud` (every access token we mint names it), not expired; and then the revocation ledger,
/// read from the database directly because this process writes it.
struct AccessTokenVerifier: Sendable {
    let keys: SigningKeyStore
    let database: Database
    let issuer: String
    let audience: String
    let clock: Clock

    /// The claims of an active token of ours, or nil. Never throws for a bad token, only when
    /// the database cannot answer. `accepting` sees the unverified claims first, so a caller
    /// that would refuse the token anyway (introspection by another client) costs no key lookup.
    func verify(_ token: String, accepting: (AccessTokenClaims) -> Bool = { _ in true }) async throws -> AccessTokenClaims? {
        guard let parsed = try? JWTParser.parse(token, expectedType: "at+jwt"),
              let claims = try? parsed.decodePayload(AccessTokenClaims.self), accepting(claims) else { return nil }
        let published = try await keys.publishedKeys()
        guard let jwk = published.first(where: { $0.kid == parsed.header.kid }), let key = try? RSAKey(publicJWK: jwk),
              (try? parsed.verifySignature(with: key)) != nil,
              (try? claims.validate(issuer: issuer, audience: audience, now: clock.seconds, leeway: 0)) != nil,
              !claims.sub.isEmpty, !claims.jti.isEmpty
        else { return nil }
        guard try await !TokenRevocation.isRevoked(jti: claims.jti, database: database) else { return nil }
        return claims
    }
}
