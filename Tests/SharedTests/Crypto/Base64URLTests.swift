import Foundation
import Shared
import Testing

@Suite struct Base64URLTests {
    @Test(arguments: [
        ([UInt8](), ""),
        ([0x66], "Zg"),
        ([0x66, 0x6F], "Zm8"),
        ([0x66, 0x6F, 0x6F], "Zm9v"),
        ([0xFB, 0xFF, 0xBF], "-_-_"),
        ([0x03, 0xEC, 0xFF], "A-z_"),
    ])
    func knownVectorsRoundTrip(bytes: [UInt8], encoded: String) {
        #expect(Base64URL.encode(bytes) == encoded)
        #expect(Base64URL.decode(encoded) == bytes)
    }

    @Test func randomBytesRoundTripForEveryLength() {
        for length in 0..<70 {
            let bytes = SecureRandom.bytes(length)
            let encoded = Base64URL.encode(bytes)
            #expect(!encoded.contains("="))
            #expect(Base64URL.decode(encoded) == bytes)
        }
    }

    @Test(arguments: ["Zg==", "Zm8=", "+_8", "/w", "Zm 9v", "Zm9v\n", "Z", "Zm9vY", "Zh", "Zm9", "é"])
    func strictDecodingRejects(input: String) {
        // Padding, standard-alphabet symbols, whitespace, impossible lengths, non-zero trailing bits, non-ASCII.
        #expect(Base64URL.decode(input) == nil)
    }

    @Test func tokensAreURLSafeAndUnique() {
        let a = SecureRandom.token()
        let b = SecureRandom.token()
        #expect(a != b)
        #expect(a.count == 43)  // 32 bytes → 43 unpadded symbols
        #expect(Base64URL.decode(a)?.count == 32)
        #expect(SecureRandom.token(byteCount: 16).count == 22)
    }
}

@Suite struct DigestTests {
    @Test func sha256MatchesFIPS180Vectors() {
        #expect(Base64URL.encode(Digest.sha256("abc")) == "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0")
        #expect(Base64URL.encode(Digest.sha256([UInt8]())) == "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU")
    }

    @Test func hmacMatchesRFC4231TestCase2() {
        let mac = Digest.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(mac.map { String(format: "%02x", $0) }.joined()
            == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func constantTimeEqualsComparesContentAndLength() {
        #expect(constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(constantTimeEquals([], []))
    }
}
