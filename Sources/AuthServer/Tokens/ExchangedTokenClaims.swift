import Foundation
import Shared

/// The claims of a token issued by token exchange (RFC 8693 §2.2.1) for an upstream MCP server:
/// an RFC 9068 access token (`typ: at+jwt`, so any JWT library checks it against our JWKS) whose
/// `aud` is the upstream, with the gateway named as the actor.
///
/// RFC 8693 §4.1: "The act (actor) claim provides a means within a JWT to express that delegation
/// has occurred and identify the acting party to whom authority has been delegated. … The value
/// of the act claim MUST be a JSON object, and members in that JSON object are claims that
/// identify the actor."
struct ExchangedTokenClaims: Codable, Sendable, Equatable {
    struct Actor: Codable, Sendable, Equatable {
        /// The exchanging client's client_id (the resource server).
        var sub: String
    }

    var iss: String
    var sub: String
    var aud: Audience
    /// The client the person authorized (RFC 9068 §2.2), not the gateway: the upstream sees who
    /// the person is using.
    var client_id: String
    var scope: String
    var iat: Int
    var exp: Int
    var jti: String
    var act: Actor
}

/// Reads only whether a token names an actor: a token that was itself exchanged is never
/// exchanged again (no delegation chains).
struct ActorProbe: Decodable {
    struct Actor: Decodable { var sub: String? }
    var act: Actor?
}

extension TokenIssuer {
    struct ExchangedToken: Sendable {
        let token: String
        let jti: String
        let expiresAt: Date
        let claims: ExchangedTokenClaims
    }

    /// `exp` is the sooner of `now + lifetime` and `notAfter` (the subject token's `exp`): an
    /// exchanged token never outlives the token it was exchanged for.
    func exchangedToken(signer: SigningKeyStore.Signer, subject: AccessTokenClaims, audience: String, scope: ScopeSet,
                        actor: String, lifetime: Int, now: Int) throws -> ExchangedToken {
        let claims = ExchangedTokenClaims(
            iss: issuer, sub: subject.sub, aud: .one(audience), client_id: subject.client_id, scope: scope.description,
            iat: now, exp: min(now + lifetime, subject.exp), jti: SecureRandom.token(byteCount: 16), act: .init(sub: actor))
        let token = try JWTSigner.sign(claims, key: signer.key, keyID: signer.kid, type: JOSEType.accessToken)
        return ExchangedToken(token: token, jti: claims.jti, expiresAt: Date(timeIntervalSince1970: TimeInterval(claims.exp)),
                              claims: claims)
    }
}
