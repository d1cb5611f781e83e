import Foundation
import Shared
import Testing

@Suite struct KeyEncryptionKeyTests {
    let plaintext = Array("stand-in for the DER bytes of a private key".utf8)
    let aad = Array("signing-key:kid-1".utf8)

    @Test func sealOpenRoundTrip() throws {
        let kek = KeyEncryptionKey.generate()
        let sealed = try kek.seal(plaintext, associatedData: aad)
        #expect(sealed.count == 1 + 12 + plaintext.count + 16)
        #expect(sealed[0] == 0x01)
        #expect(try kek.open(sealed, associatedData: aad) == plaintext)
        // Fresh nonce each time: sealing twice never repeats ciphertext.
        #expect(try kek.seal(plaintext, associatedData: aad) != sealed)
        #expect(try kek.open(kek.seal([], associatedData: []), associatedData: []) == [])
    }

    @Test func wrongKeyOrAssociatedDataFailsAuthentication() throws {
        let sealed = try KeyEncryptionKey.generate().seal(plaintext, associatedData: aad)
        #expect(throws: KeyEncryptionError.authenticationFailed) {
            try KeyEncryptionKey.generate().open(sealed, associatedData: aad)
        }
        let kek = KeyEncryptionKey.generate()
        let mine = try kek.seal(plaintext, associatedData: aad)
        #expect(throws: KeyEncryptionError.authenticationFailed) {
            try kek.open(mine, associatedData: Array("signing-key:kid-2".utf8))
        }
    }

    @Test func tamperingAnyByteFailsAuthentication() throws {
        let kek = KeyEncryptionKey.generate()
        let sealed = try kek.seal(plaintext, associatedData: aad)
        for index in [1, 12, 13, 20, sealed.count - 1] {  // nonce, ciphertext, tag
            var tampered = sealed
            tampered[index] ^= 0x01
            #expect(throws: KeyEncryptionError.authenticationFailed) { try kek.open(tampered, associatedData: aad) }
        }
        // Dropping ciphertext bytes keeps a valid layout but breaks the tag.
        var shortened = sealed
        shortened.remove(at: 14)
        #expect(throws: KeyEncryptionError.authenticationFailed) { try kek.open(shortened, associatedData: aad) }
    }

    @Test func truncatedOrUnversionedIsMalformed() throws {
        let kek = KeyEncryptionKey.generate()
        let sealed = try kek.seal(plaintext, associatedData: aad)
        #expect(throws: KeyEncryptionError.malformed) { try kek.open(Array(sealed.prefix(28)), associatedData: aad) }
        #expect(throws: KeyEncryptionError.malformed) { try kek.open([], associatedData: aad) }
        var wrongVersion = sealed
        wrongVersion[0] = 0x02
        #expect(throws: KeyEncryptionError.malformed) { try kek.open(wrongVersion, associatedData: aad) }
    }

    @Test func base64InitAcceptsStandardAndURLSafe() throws {
        let bytes = (0..<32).map { UInt8(250 - $0) }  // includes bytes that encode to '+'/'/' or '-'/'_'
        let standard = Data(bytes).base64EncodedString()
        let urlSafe = Base64URL.encode(bytes)
        #expect(standard.contains("+") || standard.contains("/"))
        let a = try KeyEncryptionKey(base64: standard)
        let b = try KeyEncryptionKey(base64: urlSafe)
        let c = try KeyEncryptionKey(base64: " \(standard)\n")
        #expect(a.fingerprint == b.fingerprint)
        #expect(a.fingerprint == c.fingerprint)
        #expect(try a.open(b.seal(plaintext, associatedData: aad), associatedData: aad) == plaintext)
    }

    @Test func invalidKeyMaterialIsRejected() {
        let shortKey = Data(repeating: 7, count: 16).base64EncodedString()
        for candidate in ["not base64!", "", shortKey, "+/-_" + String(repeating: "A", count: 40)] {
            #expect(throws: KeyEncryptionError.self, "\(candidate)") { try KeyEncryptionKey(base64: candidate) }
            do {
                _ = try KeyEncryptionKey(base64: candidate)
            } catch let error as KeyEncryptionError {
                guard case .invalidKey = error else { Issue.record("expected .invalidKey, got \(error)"); continue }
            } catch {
                Issue.record("unexpected error \(error)")
            }
        }
        #expect(throws: KeyEncryptionError.invalidKey("key must be exactly 32 bytes, got 31")) {
            try KeyEncryptionKey(bytes: [UInt8](repeating: 1, count: 31))
        }
    }

    @Test func fingerprintIsStableHexAndDoesNotRevealKey() throws {
        let kek = try KeyEncryptionKey(bytes: [UInt8](repeating: 0, count: 32))
        // SHA-256 of 32 zero bytes begins 66687aadf862bd77.
        #expect(kek.fingerprint == "66687aadf862bd77")
        #expect("\(kek)" == "KeyEncryptionKey(fingerprint: 66687aadf862bd77)")
        #expect(KeyEncryptionKey.generate().fingerprint != kek.fingerprint)
    }
}
