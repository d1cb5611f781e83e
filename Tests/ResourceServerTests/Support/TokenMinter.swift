import Foundation
import TestSupport
import Shared

/// Builds access tokens the way the authorization server does, with every field overridable so each
/// test can break exactly one thing.
struct TokenMinter: Sendable {
    var issuer: String
    var audience: Audience = .one("http://localhost:8000/mcp")
    var subject = "alice"
    var clientID = "client-1"
    var scope = "notes:read notes:write"
    var issuedAt: Int
    var lifetime = 300
    var notBefore: Int?
    var jti = UUID().uuidString
    var type = "at+jwt"
    var key: RSAKey = TestKeys.primary
    var keyID: String = TestKeys.primaryKID

    init(issuer: String, clock: TestClock) {
        self.issuer = issuer
        self.issuedAt = clock.seconds
    }

    var claims: AccessTokenClaims {
        AccessTokenClaims(iss: issuer, sub: subject, aud: audience, client_id: clientID, scope: scope,
                          iat: issuedAt, exp: issuedAt + lifetime, nbf: notBefore, jti: jti)
    }

    func token() -> String {
        try! JWTSigner.sign(claims, key: key, keyID: keyID, type: type)
    }

    /// A token whose header names `alg` but whose signature is whatever `sign` returns: for alg=none/HS256.
    func token(algorithm: String, sign: ([UInt8]) -> [UInt8]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = try! encoder.encode(JOSEHeader(alg: algorithm, typ: type, kid: keyID))
        let payload = try! encoder.encode(claims)
        let input = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        return input + "." + Base64URL.encode(sign(Array(input.utf8)))
    }
}
