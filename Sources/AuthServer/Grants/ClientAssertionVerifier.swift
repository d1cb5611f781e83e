import Foundation
import Logging
import Shared

/// Verifies a `private_key_jwt` client assertion (RFC 7523 §2.2, §3) for a client that registered
/// that method, in order: the assertion type; the JWS with an asymmetric algorithm only (RS256,
/// PS256, ES256, or the one the client registered); the claims; the signature under one of the
/// client's keys (an unknown `kid` refetches its `jwks_uri` once, rate-limited); and last the
/// `jti`, recorded so it is single-use across replicas. Every failure is 401 `invalid_client`.
///
/// RFC 7523 §3.2: "If the client JWT is not valid, or its subject confirmation requirements
/// cannot be met, the authorization server MUST construct an error response ... The value of the
/// "error" parameter MUST be the "invalid_client" error code."
struct ClientAssertionVerifier: Sendable {
    /// RFC 7523 §2.2: "The value of the "client_assertion_type" is
    /// "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"."
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let replays: ClientAssertionReplayStore
    let jwks: ClientJWKSCache
    /// The issuer and the token endpoint URL: what `aud` may name.
    let audiences: Set<String>
    let clock: Clock
    let logger: Logger

    /// The `sub` of an assertion, read before anything is verified, only to find the client when
    /// the request has no `client_id` (RFC 7521 §4.2: client_id is then optional).
    static func unverifiedSubject(_ assertion: String) -> String? {
        guard let jws = try? SignedJWS.parse(assertion, allowed: Set(JWSAlgorithm.allCases)),
              let claims = try? jws.decodePayload(ClientAssertionClaims.self) else { return nil }
        return claims.sub
    }

    func verify(_ assertion: String, type: String?, client: Client) async throws {
        func refuse(_ reason: String) -> OAuthError {
            logger.info("client assertion refused", metadata: ["client_id": "\(client.clientID)", "reason": "\(reason)"])
            return OAuthError.invalidClient("client assertion: \(reason)")
        }
        guard type == Self.assertionType else { throw refuse("client_assertion_type must be \(Self.assertionType)") }
        let allowed = client.signingAlgorithm.map { Set([$0]) } ?? Set(JWSAlgorithm.allCases)
        let jws: SignedJWS
        let claims: ClientAssertionClaims
        do {
            jws = try SignedJWS.parse(assertion, allowed: allowed)
            claims = try jws.decodePayload(ClientAssertionClaims.self)
        } catch {
            throw refuse(error.description)
        }
        let now = clock.now()
        if let problem = claims.problem(clientID: client.clientID, audiences: audiences, now: now) { throw refuse(problem) }
        guard try await isSigned(jws, client: client, now: now, refuse: refuse) else { throw refuse("invalid signature") }
        // Recorded only now, so nobody without the key can use up a client's jti values.
        let until = claims.expiresAt.addingTimeInterval(ClientAssertionClaims.leeway)
        guard try await replays.consume(clientID: client.clientID, jti: claims.jti, expiresAt: until) else {
            throw refuse("this assertion (jti) was already used")
        }
    }

    /// Tries the client's keys that match the header's `kid` (all of them when there is none);
    /// when none matched the `kid`, or nothing verified without one, refetches once.
    private func isSigned(_ jws: SignedJWS, client: Client, now: Date,
                          refuse: (String) -> OAuthError) async throws -> Bool {
        func candidates(_ keys: [JWSPublicKey]) -> [JWSPublicKey] {
            keys.filter { key in jws.header.kid.map { key.kid == $0 } ?? true }
        }
        if let inline = client.jwks {
            return candidates(ClientKeyMetadata.usableKeys(inline)).contains { jws.isSigned(by: $0) }
        }
        guard let uri = client.jwksURI else { throw refuse("the client has no jwks_uri or jwks") }
        do {
            let first = candidates(try await jwks.keys(at: uri, now: now))
            if first.contains(where: { jws.isSigned(by: $0) }) { return true }
            // A known kid that does not verify is a wrong key, not a rotation.
            guard first.isEmpty || jws.header.kid == nil else { return false }
            return candidates(try await jwks.keys(at: uri, now: now, refresh: true)).contains { jws.isSigned(by: $0) }
        } catch {
            throw refuse("the client's jwks_uri: \(error.reason)")
        }
    }
}
