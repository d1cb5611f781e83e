import Foundation
import Shared
import Testing
@testable import AuthServer

/// OpenID Connect Core §3.1.3.7, the ID token checks of a sign-in through an upstream provider:
/// each case is a real JWS signed through OpenSSL with a real RSA (or EC) key, and each bad one
/// is refused with the reason the failure page shows.
@Suite("Upstream ID token verification (OIDC Core §3.1.3.7)")
struct UpstreamIDTokenVerifierTests {
    static let issuer = "https://sso.example.com"
    static let clientID = "gatehouse"
    static let nonce = "n-0S6_WzA2Mj"
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    let verifier = UpstreamIDTokenVerifier(issuer: issuer, clientID: clientID)

    static func claims(_ changes: [String: Any?] = [:]) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": issuer, "sub": "248289761001", "aud": clientID, "nonce": nonce, "email": "jane@example.com",
            "email_verified": true, "iat": Int(now.timeIntervalSince1970) - 5, "exp": Int(now.timeIntervalSince1970) + 300,
        ]
        for (key, value) in changes { claims[key] = value }
        return claims
    }

    /// Parses with the provider's advertised algorithms and verifies under `keys`; the failure, if any.
    func check(_ token: String, keys: [JWSPublicKey], algorithms: Set<JWSAlgorithm> = [.rs256]) -> FederationFailure? {
        do {
            let jws = try verifier.parse(token, algorithms: algorithms)
            _ = try verifier.verify(jws, keys: keys, nonce: Self.nonce, now: Self.now)
            return nil
        } catch {
            return error
        }
    }

    func key(_ pair: ClientKeyPair) throws -> JWSPublicKey { try JWSPublicKey(jwk: try pair.publicJWK) }

    @Test("a token signed by the provider's key with every claim right verifies, and its claims are kept")
    func valid() throws {
        let pair = try ClientKeyPair(.rs256)
        let jws = try verifier.parse(try pair.sign(Self.claims()), algorithms: [.rs256])
        let claims = try verifier.verify(jws, keys: [try key(pair)], nonce: Self.nonce, now: Self.now)
        #expect(claims.sub == "248289761001")
        #expect(claims.email == "jane@example.com" && claims.emailVerified)
    }

    @Test("aud as an array with our client and azp naming us verifies; ES256 when advertised")
    func arrayAudienceAndES256() throws {
        let pair = try ClientKeyPair(.es256)
        let token = try pair.sign(Self.claims(["aud": [Self.clientID, "other"], "azp": Self.clientID]))
        #expect(check(token, keys: [try key(pair)], algorithms: [.rs256, .es256]) == nil)
    }

    /// One wrong claim each.
    enum BadClaim: String, Sendable, CaseIterable {
        case wrongNonce, noNonce, otherAudience, severalAudiencesNoAZP, otherAZP, otherIssuer, issuerWithSlash,
             expired, issuedInFuture, issuedLongAgo

        var changes: [String: Any?] {
            let time = Int(UpstreamIDTokenVerifierTests.now.timeIntervalSince1970)
            return switch self {
            case .wrongNonce: ["nonce": "another"]
            case .noNonce: ["nonce": nil]
            case .otherAudience: ["aud": "someone-else"]
            case .severalAudiencesNoAZP: ["aud": [UpstreamIDTokenVerifierTests.clientID, "other"]]
            case .otherAZP: ["azp": "someone-else"]
            case .otherIssuer: ["iss": "https://evil.example.com"]
            case .issuerWithSlash: ["iss": UpstreamIDTokenVerifierTests.issuer + "/"]
            case .expired: ["exp": time - 61]
            case .issuedInFuture: ["iat": time + 120]
            case .issuedLongAgo: ["iat": time - 3600]
            }
        }

        var reason: String {
            switch self {
            case .wrongNonce, .noNonce: "nonce does not match"
            case .otherAudience: "another client (aud)"
            case .severalAudiencesNoAZP: "several audiences and no azp"
            case .otherAZP: "another client (azp)"
            case .otherIssuer, .issuerWithSlash: "another issuer (iss)"
            case .expired: "has expired (exp)"
            case .issuedInFuture: "issued in the future (iat)"
            case .issuedLongAgo: "issued too long ago"
            }
        }
    }

    @Test("each bad claim is refused with its reason", arguments: BadClaim.allCases)
    func badClaims(claim: BadClaim) throws {
        let pair = try ClientKeyPair(.rs256)
        let failure = check(try pair.sign(Self.claims(claim.changes)), keys: [try key(pair)])
        #expect(failure?.code == .invalidIDToken)
        #expect(failure?.message.contains(claim.reason) == true, "\(String(describing: failure))")
    }

    @Test("an exp within the 60 s skew still verifies")
    func skew() throws {
        let pair = try ClientKeyPair(.rs256)
        #expect(check(try pair.sign(Self.claims(["exp": Int(Self.now.timeIntervalSince1970) - 30])), keys: [try key(pair)]) == nil)
    }

    @Test("a token signed by another key is refused, with or without a matching kid")
    func anotherKey() throws {
        let provider = try ClientKeyPair(.rs256, kid: "k1")
        let attacker = try ClientKeyPair(.rs256, kid: "k1")
        let failure = check(try attacker.sign(Self.claims()), keys: [try key(provider)])
        #expect(failure?.code == .invalidIDToken)
        #expect(failure?.message.contains("signature does not verify") == true)
        let other = try ClientKeyPair(.rs256, kid: "k2")
        #expect(check(try other.sign(Self.claims()), keys: [try key(provider)])?.message.contains("signature") == true)
    }

    @Test("alg none, HS256 and an algorithm the provider does not advertise are refused before any key", arguments: [
        "none", "HS256", "PS256",
    ])
    func refusedAlgorithms(alg: String) throws {
        let pair = try ClientKeyPair(.rs256)
        var token = try pair.sign(Self.claims(), header: ["alg": alg])
        if alg == "none" { token = String(token[..<token.lastIndex(of: ".")!]) + "." }
        let failure = check(token, keys: [try key(pair)], algorithms: [.rs256])
        #expect(failure?.code == .invalidIDToken)
        #expect(failure?.message.contains("signed with \(alg)") == true || failure?.message.contains("not a signed JWT") == true,
                "\(String(describing: failure))")
    }

    @Test("email_verified as the string \"true\" counts; absent is false")
    func emailVerifiedShapes() throws {
        let pair = try ClientKeyPair(.rs256)
        for (value, expected) in [("true" as Any?, true), (nil, false), ("false", false)] {
            let jws = try verifier.parse(try pair.sign(Self.claims(["email_verified": value])), algorithms: [.rs256])
            #expect(try verifier.verify(jws, keys: [try key(pair)], nonce: Self.nonce, now: Self.now).emailVerified == expected)
        }
    }
}
