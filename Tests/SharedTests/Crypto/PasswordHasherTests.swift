import Foundation
@testable import Shared
import Testing

@Suite struct PasswordHasherTests {
    let fast = PasswordHasher(parameters: .init(logN: 10, r: 8, p: 1))

    @Test func hashVerifiesAndHasDocumentedFormat() throws {
        let encoded = try fast.hash("correct horse battery staple")
        let fields = encoded.split(separator: "$", omittingEmptySubsequences: false)
        #expect(fields.count == 5)
        #expect(fields[1] == "scrypt")
        #expect(fields[2] == "ln=10,r=8,p=1")
        #expect(fields[3].count == 22)  // 16 bytes, unpadded base64
        #expect(fields[4].count == 43)  // 32 bytes
        #expect(fast.verify("correct horse battery staple", against: encoded))
    }

    @Test func wrongPasswordFails() throws {
        let encoded = try fast.hash("hunter2")
        #expect(!fast.verify("hunter3", against: encoded))
        #expect(!fast.verify("Hunter2", against: encoded))
        #expect(!fast.verify("", against: encoded))
    }

    @Test func sameTwoPasswordsGetDifferentSalts() throws {
        let a = try fast.hash("same")
        let b = try fast.hash("same")
        #expect(a != b)
        #expect(fast.verify("same", against: a) && fast.verify("same", against: b))
    }

    @Test func scryptMatchesRFC7914TestVector() throws {
        // RFC 7914 §12: scrypt(P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1, dkLen=64).
        let derived = try PasswordHasher.scrypt(Array("pleaseletmein".utf8), salt: Array("SodiumChloride".utf8),
                                                parameters: .init(logN: 14, r: 8, p: 1), length: 64)
        #expect(derived.map { String(format: "%02x", $0) }.joined() == "7023bdcb3afd7348461c06cd81fd38eb"
            + "fda8fbba904f8e3ea9b543f6545da1f2d5432955613f0fcf62d49705242a9af9e61e85dc0d651e40dfcf017b45575887")
    }

    /// OWASP Password Storage Cheat Sheet: scrypt "with a minimum CPU/memory cost parameter of
    /// (2^17), a minimum block size of 8 (1024 bytes), and a parallelization parameter of 1".
    @Test func newHashesUseTheOWASPMinimum() throws {
        let hasher = PasswordHasher()
        #expect(hasher.parameters == .init(logN: 17, r: 8, p: 1))
        let encoded = try hasher.hash("pässwörd")
        #expect(encoded.hasPrefix("$scrypt$ln=17,r=8,p=1$"))
        #expect(hasher.verify("pässwörd", against: encoded))
        // NFC and NFD spellings of the same password match.
        #expect(hasher.verify("pa\u{0308}sswo\u{0308}rd", against: encoded))
        #expect(!hasher.verify("passwort", against: encoded))
        #expect(!hasher.needsRehash(encoded))
    }

    @Test func needsRehashWhenStoredParametersAreWeaker() throws {
        let encoded = try fast.hash("pw")
        #expect(PasswordHasher().needsRehash(encoded))
        #expect(PasswordHasher(parameters: .init(logN: 10, r: 8, p: 2)).needsRehash(encoded))
        #expect(!fast.needsRehash(encoded))
        #expect(!PasswordHasher(parameters: .init(logN: 9, r: 8, p: 1)).needsRehash(encoded))
        #expect(fast.needsRehash("garbage"))
        // Hashes made with other parameters still verify: upgrade happens after a successful login.
        #expect(PasswordHasher().verify("pw", against: encoded))
    }

    @Test func malformedEncodedStringsReturnFalse() throws {
        let valid = try fast.hash("pw")
        let parts = valid.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        let malformed = [
            "", "$", "$scrypt$", "plaintext-pw", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            "$scrypt$ln=10,r=8$\(parts[3])$\(parts[4])",
            "$scrypt$ln=99,r=8,p=1$\(parts[3])$\(parts[4])",
            "$scrypt$ln=010,r=8,p=1$\(parts[3])$\(parts[4])",
            "$scrypt$ln=-1,r=8,p=1$\(parts[3])$\(parts[4])",
            "$scrypt$r=8,ln=10,p=1$\(parts[3])$\(parts[4])",
            "$scrypt$ln=10,r=8,p=1$\(parts[3])==$\(parts[4])",
            "$scrypt$ln=10,r=8,p=1$\(parts[3])$\(parts[4])$",
            "$scrypt$ln=10,r=8,p=1$!!$\(parts[4])",
            "$scrypt$ln=10,r=8,p=1$\(parts[3])$",
            valid + "x",
        ]
        for candidate in malformed {
            #expect(!fast.verify("pw", against: candidate), "\(candidate)")
        }
    }
}
