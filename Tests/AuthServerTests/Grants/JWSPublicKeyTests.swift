import Foundation
import Shared
import Testing
@testable import AuthServer

/// The verification side of client assertions (`Shared/Crypto/JWSPublicKey.swift`,
/// `SignedJWS.swift`): keys imported from JWKs, signatures checked through OpenSSL.
@Suite struct JWSPublicKeyTests {
    static var claims: [String: Any] { ["iss": "c", "sub": "c", "aud": "a", "exp": 1, "jti": "j"] }

    @Test(arguments: JWSAlgorithm.allCases)
    func verifiesAndRefusesTampering(_ algorithm: JWSAlgorithm) throws {
        let pair = try ClientKeyPair(algorithm)
        let key = try JWSPublicKey(jwk: try pair.publicJWK)
        let token = try pair.sign(Self.claims)
        let jws = try SignedJWS.parse(token, allowed: Set(JWSAlgorithm.allCases))
        #expect(jws.algorithm == algorithm && jws.isSigned(by: key))
        var tampered = jws.signature
        tampered[tampered.count / 2] ^= 0x01
        #expect(!key.verify(algorithm, signature: tampered, message: jws.signingInput))
        #expect(!key.verify(algorithm, signature: jws.signature, message: jws.signingInput + [0x2e]))
        #expect(!jws.isSigned(by: try JWSPublicKey(jwk: try ClientKeyPair(algorithm).publicJWK)), "another key")
    }

    @Test("RFC 7517 §4.4: a key verifies only the algorithm its JWK names, and only its own key type")
    func keyAlgorithmIsPinned() throws {
        let rsa = try ClientKeyPair(.rs256)
        let key = try JWSPublicKey(jwk: try rsa.publicJWK)
        #expect(key.accepts(.rs256) && !key.accepts(.ps256) && !key.accepts(.es256))
        var unpinned = try rsa.publicJWK
        unpinned.alg = nil
        let open = try JWSPublicKey(jwk: unpinned)
        #expect(open.accepts(.rs256) && open.accepts(.ps256) && !open.accepts(.es256))
        // An RS256 signature is not a PS256 one.
        let jws = try SignedJWS.parse(try rsa.sign(Self.claims), allowed: [.rs256])
        #expect(!open.verify(.ps256, signature: jws.signature, message: jws.signingInput))
    }

    @Test("none, HS256 and anything outside the allowed set are refused before any key is used")
    func algorithmsOutsideTheSet() throws {
        let payload = Base64URL.encode(Data("{}".utf8))
        for alg in ["none", "HS256", "RS512", "EdDSA"] {
            let header = Base64URL.encode(Data(#"{"alg":"\#(alg)"}"#.utf8))
            #expect(throws: JWTError.unsupportedAlgorithm(alg)) { try SignedJWS.parse("\(header).\(payload).AAAA", allowed: Set(JWSAlgorithm.allCases)) }
        }
        let es = try ClientKeyPair(.es256).sign(Self.claims)
        #expect(throws: JWTError.unsupportedAlgorithm("ES256")) { try SignedJWS.parse(es, allowed: [.rs256]) }
    }

    @Test("EC keys must be P-256 points on the curve; RSA keys at least 2048 bits; oct keys are refused")
    func badKeys() throws {
        let good = try ClientKeyPair(.es256).publicJWK
        var offCurve = good
        offCurve.y = Base64URL.encode([UInt8](repeating: 7, count: 32))
        #expect(throws: (any Error).self) { try JWSPublicKey(jwk: offCurve) }
        var otherCurve = good
        otherCurve.crv = "P-384"
        #expect(throws: (any Error).self) { try JWSPublicKey(jwk: otherCurve) }
        let small = JWK(kty: "RSA", n: Base64URL.encode([0xc1] + [UInt8](repeating: 0x55, count: 127)), e: "AQAB")
        #expect(throws: (any Error).self) { try JWSPublicKey(jwk: small) }
        #expect(throws: (any Error).self) { try JWSPublicKey(jwk: JWK(kty: "oct")) }
    }

    @Test("ECDSA: R || S and DER convert both ways, including high-bit and leading-zero coordinates")
    func ecdsaDER() {
        let cases: [[UInt8]] = [
            [UInt8](repeating: 0xff, count: 64),
            [0, 0, 1] + [UInt8](repeating: 0x10, count: 29) + [0x80] + [UInt8](repeating: 0, count: 31),
        ]
        for raw in cases {
            let der = ECDSASignatureDER.encode(joseSignature: raw, coordinateBytes: 32)
            #expect(der.flatMap { ECDSASignatureDER.decode(der: $0, coordinateBytes: 32) } == raw)
        }
        #expect(ECDSASignatureDER.encode(joseSignature: [UInt8](repeating: 1, count: 63), coordinateBytes: 32) == nil)
    }
}
