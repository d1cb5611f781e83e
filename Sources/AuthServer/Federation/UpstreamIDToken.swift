import Foundation
import Shared

/// The claims of an upstream provider's ID token that Gatehouse checks or keeps (OpenID Connect
/// Core §2). `aud` may be a string or an array (§2: "In the general case, the aud value is an
/// array of case-sensitive strings. In the common special case when there is one audience, the
/// aud value MAY be a single case-sensitive string"); `email_verified` is read as a boolean or
/// the strings "true"/"false", as some providers send it.
struct UpstreamIDTokenClaims: Decodable, Sendable, Equatable {
    var iss: String
    var sub: String
    var aud: [String]
    var exp: Double
    var iat: Double
    var nonce: String?
    var azp: String?
    var email: String?
    var emailVerified: Bool
    var name: String?
    var preferredUsername: String?

    enum CodingKeys: String, CodingKey {
        case iss, sub, aud, exp, iat, nonce, azp, email, name
        case emailVerified = "email_verified", preferredUsername = "preferred_username"
    }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        iss = try c.decode(String.self, forKey: .iss)
        sub = try c.decode(String.self, forKey: .sub)
        if let single = try? c.decode(String.self, forKey: .aud) { aud = [single] } else { aud = try c.decode([String].self, forKey: .aud) }
        exp = try c.decode(Double.self, forKey: .exp)
        iat = try c.decode(Double.self, forKey: .iat)
        nonce = try c.decodeIfPresent(String.self, forKey: .nonce)
        azp = try c.decodeIfPresent(String.self, forKey: .azp)
        email = try c.decodeIfPresent(String.self, forKey: .email)
        if let flag = try? c.decodeIfPresent(Bool.self, forKey: .emailVerified) {
            emailVerified = flag
        } else {
            emailVerified = (try? c.decodeIfPresent(String.self, forKey: .emailVerified)) == "true"
        }
        name = try c.decodeIfPresent(String.self, forKey: .name)
        preferredUsername = try c.decodeIfPresent(String.self, forKey: .preferredUsername)
    }
}

/// Checks an upstream ID token as OpenID Connect Core §3.1.3.7 lists, in this order: the JWS
/// shape and an algorithm both the provider advertises and Gatehouse verifies (RS256, PS256,
/// ES256: `none` and `HS256` have no case in `JWSAlgorithm`, so they never reach a key); the
/// signature under a key of the provider's JWKS; then the claims.
///
/// §3.1.3.7: "2. The Issuer Identifier for the OpenID Provider … MUST exactly match the value of
/// the iss (issuer) Claim. 3. The Client MUST validate that the aud (audience) Claim contains its
/// client_id value … The ID Token MUST be rejected if the ID Token does not list the Client as a
/// valid audience, or if it contains additional audiences not trusted by the Client. 4. If the ID
/// Token contains multiple audiences, the Client SHOULD verify that an azp Claim is present. 5. If
/// an azp (authorized party) Claim is present, the Client SHOULD verify that its client_id is the
/// Claim Value. … 9. The current time MUST be before the time represented by the exp Claim. 10.
/// The iat Claim can be used to reject tokens that were issued too far away from the current time
/// … 11. … The value of the nonce Claim MUST be checked to verify that it is the same value as
/// the one that was sent in the Authentication Request."
struct UpstreamIDTokenVerifier: Sendable {
    /// Clocks differ by this much at most.
    static let skew: TimeInterval = 60
    /// An ID token issued longer ago than this is refused: it belongs to another sign-in.
    static let maximumAge: TimeInterval = 600

    let issuer: String
    let clientID: String

    /// The parsed token, before its signature is checked: which keys to try is the caller's (the JWKS may need a refetch).
    func parse(_ token: String, algorithms: Set<JWSAlgorithm>) throws(FederationFailure) -> SignedJWS {
        do {
            return try SignedJWS.parse(token, allowed: algorithms)
        } catch .unsupportedAlgorithm(let alg) {
            throw FederationFailure(.invalidIDToken,
                "the ID token is signed with \(alg.prefix(16)), which the provider does not advertise or Gatehouse does not accept")
        } catch {
            throw FederationFailure(.invalidIDToken, "the ID token is not a signed JWT (\(error.description))")
        }
    }

    /// The keys named by the token's `kid`, or every key when it names none.
    static func candidates(for jws: SignedJWS, in keys: [JWSPublicKey]) -> [JWSPublicKey] {
        keys.filter { key in jws.header.kid.map { key.kid == $0 } ?? true }
    }

    /// The claims, after the signature (under one of `keys`) and every claim check.
    func verify(_ jws: SignedJWS, keys: [JWSPublicKey], nonce: String, now: Date) throws(FederationFailure) -> UpstreamIDTokenClaims {
        guard Self.candidates(for: jws, in: keys).contains(where: { jws.isSigned(by: $0) }) else {
            throw FederationFailure(.invalidIDToken, "the ID token's signature does not verify with the provider's published keys")
        }
        let claims: UpstreamIDTokenClaims
        do { claims = try jws.decodePayload(UpstreamIDTokenClaims.self) } catch {
            throw FederationFailure(.invalidIDToken, "the ID token's claims are incomplete (\(error.description))")
        }
        if let problem = problem(with: claims, nonce: nonce, now: now) { throw FederationFailure(.invalidIDToken, problem) }
        return claims
    }

    /// The first claim check that fails, or nil.
    func problem(with claims: UpstreamIDTokenClaims, nonce: String, now: Date) -> String? {
        let time = now.timeIntervalSince1970
        if Array(claims.iss.utf8) != Array(issuer.utf8) { return "the ID token was issued by another issuer (iss)" }
        if !claims.aud.contains(clientID) { return "the ID token is for another client (aud)" }
        if claims.aud.count > 1 && claims.azp == nil { return "the ID token has several audiences and no azp" }
        if let azp = claims.azp, azp != clientID { return "the ID token was issued to another client (azp)" }
        if claims.exp + Self.skew <= time { return "the ID token has expired (exp); check that the clocks of Gatehouse and the provider agree" }
        if claims.iat - Self.skew > time { return "the ID token was issued in the future (iat); check that the clocks of Gatehouse and the provider agree" }
        if time - claims.iat > Self.maximumAge + Self.skew { return "the ID token was issued too long ago (iat)" }
        guard let sent = claims.nonce, constantTimeEquals(Array(sent.utf8), Array(nonce.utf8)) else {
            return "the ID token's nonce does not match this sign-in"
        }
        if claims.sub.isEmpty || claims.sub.utf8.count > 255 { return "the ID token's sub is empty or longer than 255 bytes" }
        return nil
    }
}
