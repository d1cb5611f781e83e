import Foundation
import Shared
import TestSupport
import Testing

@Suite struct RSAKeyTests {
    @Test func generatesPrivate2048BitKey() throws {
        let key = TestKeys.primary
        #expect(key.isPrivate)
        #expect(key.bits == 2048)
    }

    @Test(arguments: [512, 1024, 2047, 8192])
    func rejectsUnsupportedSizes(bits: Int) {
        #expect(throws: CryptoError.self) { try RSAKey.generate(bits: bits) }
    }

    @Test func privateKeyDERRoundTripKeepsTheKey() throws {
        let key = TestKeys.primary
        let der = try key.privateKeyDER()
        let reloaded = try RSAKey(privateKeyDER: der)
        #expect(reloaded.isPrivate)
        #expect(try reloaded.privateKeyDER() == der)
        #expect(try reloaded.publicJWK() == key.publicJWK())
        // The reloaded key signs, and the original verifies it.
        let message = Array("round trip".utf8)
        #expect(key.verifyRS256(signature: try reloaded.signRS256(message), message: message))
    }

    @Test func privateKeyDERRejectsGarbageAndTrailingBytes() throws {
        let der = try TestKeys.primary.privateKeyDER()
        #expect(throws: CryptoError.self) { try RSAKey(privateKeyDER: [0x30, 0x03, 0x02, 0x01, 0x00]) }
        #expect(throws: CryptoError.self) { try RSAKey(privateKeyDER: []) }
        #expect(throws: CryptoError.self) { try RSAKey(privateKeyDER: der + [0x00]) }
    }

    @Test func publicJWKHasRFC7517MembersAndThumbprintKid() throws {
        let key = TestKeys.primary
        let jwk = try key.publicJWK()
        #expect(jwk.kty == "RSA")
        #expect(jwk.e == "AQAB")
        #expect(Base64URL.decode(jwk.n ?? "")?.count == 256)
        #expect(jwk.alg == "RS256")
        #expect(jwk.use == "sig")
        #expect(jwk.kid == (try key.thumbprint()))
        // No private members leak into the published form.
        let json = String(decoding: try JSONEncoder().encode(JWKS(keys: [jwk])), as: UTF8.self)
        for privateMember in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\""] {
            #expect(!json.contains(privateMember))
        }
    }

    @Test func thumbprintMatchesRFC7638Example() throws {
        let key = try RSAKey(publicJWK: JWK(kty: "RSA", n: RFC7638Example.n, e: RFC7638Example.e))
        #expect(try key.thumbprint() == RFC7638Example.thumbprint)
        #expect(try key.publicJWK().kid == RFC7638Example.thumbprint)
        #expect(!key.isPrivate)
        #expect(key.bits == 2048)
    }

    @Test func publicJWKImportRejectsBadKeys() throws {
        let jwk = try TestKeys.primary.publicJWK()
        #expect(throws: CryptoError.self) { try RSAKey(publicJWK: JWK(kty: "EC", n: jwk.n, e: jwk.e)) }
        #expect(throws: CryptoError.self) { try RSAKey(publicJWK: JWK(kty: "RSA", n: nil, e: jwk.e)) }
        #expect(throws: CryptoError.self) { try RSAKey(publicJWK: JWK(kty: "RSA", n: jwk.n, e: "AQAB=")) }
        // A 1024-bit modulus (128 bytes with the top bit set) is below RFC 7518's 2048-bit floor.
        let short = Base64URL.encode([0xC1] + SecureRandom.bytes(126) + [0x01])
        #expect(throws: CryptoError.self) { try RSAKey(publicJWK: JWK(kty: "RSA", n: short, e: "AQAB")) }
    }

    @Test func signVerifyAndTamperDetection() throws {
        let key = TestKeys.primary
        let message = Array("header.payload".utf8)
        let signature = try key.signRS256(message)
        #expect(signature.count == 256)
        #expect(key.verifyRS256(signature: signature, message: message))
        // PKCS#1 v1.5 is deterministic.
        #expect(try key.signRS256(message) == signature)

        var tamperedMessage = message
        tamperedMessage[0] ^= 0x01
        #expect(!key.verifyRS256(signature: signature, message: tamperedMessage))
        var tamperedSignature = signature
        tamperedSignature[100] ^= 0x80
        #expect(!key.verifyRS256(signature: tamperedSignature, message: message))
        #expect(!key.verifyRS256(signature: Array(signature.dropLast()), message: message))
        #expect(!key.verifyRS256(signature: [], message: message))
        #expect(!TestKeys.secondary.verifyRS256(signature: signature, message: message))
    }

    @Test func publicOnlyKeyFromJWKVerifiesButCannotSign() throws {
        let key = TestKeys.primary
        let publicKey = try RSAKey(publicJWK: key.publicJWK())
        #expect(!publicKey.isPrivate)
        let message = Array("verify me".utf8)
        #expect(publicKey.verifyRS256(signature: try key.signRS256(message), message: message))
        #expect(throws: CryptoError.self) { try publicKey.signRS256(message) }
        #expect(throws: CryptoError.self) { try publicKey.privateKeyDER() }
        #expect(try publicKey.publicKeyPEM() == key.publicKeyPEM())
    }

    @Test func pemHasRFC7468Framing() throws {
        let pem = try TestKeys.primary.publicKeyPEM()
        let lines = pem.split(separator: "\n")
        #expect(lines.first == "-----BEGIN PUBLIC KEY-----")
        #expect(lines.last == "-----END PUBLIC KEY-----")
        #expect(lines.dropFirst().dropLast().allSatisfy { $0.count <= 64 })
    }
}
