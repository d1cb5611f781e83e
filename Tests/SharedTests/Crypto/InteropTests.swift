import Foundation
import Shared
import TestSupport
import Testing

/// Cross-checks against implementations that share no code with ours: the `openssl` CLI and Python's
/// joserfc (on `cryptography`). Missing tools are failures, not skips: interop is a requirement.
@Suite struct InteropTests {
    static let openssl = "/usr/bin/openssl"

    /// Runs the joserfc helper (Interop/JoserfcScript.swift) with `GATEHOUSE_PYTHON`, or else the `python3` on
    /// PATH (pyenv shims included). The script is written into `dir`, which the caller removes.
    func runPython(_ arguments: [String], in dir: URL) throws -> CryptoFixtures.ProcessResult {
        let script = try write(JoserfcScript.source, "joserfc_interop.py", in: dir)
        let python = ProcessInfo.processInfo.environment["GATEHOUSE_PYTHON"] ?? "python3"
        return try CryptoFixtures.runProcess("/usr/bin/env", [python, script] + arguments)
    }

    func write(_ contents: String, _ name: String, in dir: URL) throws -> String {
        try write(Array(contents.utf8), name, in: dir)
    }

    func write(_ bytes: [UInt8], _ name: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    @Test func opensslCLIVerifiesOurSignatureAndRejectsTampering() throws {
        let key = TestKeys.primary
        let token = try JWTSigner.sign(CryptoFixtures.sampleClaims(), key: key, keyID: key.thumbprint(), type: "at+jwt")
        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        let dir = try CryptoFixtures.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pub = try write(key.publicKeyPEM(), "pub.pem", in: dir)
        let sig = try write(parsed.signature, "sig.bin", in: dir)
        let input = try write(parsed.signingInput, "input.txt", in: dir)

        let good = try CryptoFixtures.runProcess(Self.openssl, ["dgst", "-sha256", "-verify", pub, "-signature", sig, input])
        #expect(good.status == 0, "openssl rejected our RS256 signature: \(good.stdout) \(good.stderr)")
        #expect(good.stdout.contains("Verified OK"))

        let tampered = try write(parsed.signingInput + [UInt8(ascii: "x")], "tampered.txt", in: dir)
        let bad = try CryptoFixtures.runProcess(Self.openssl, ["dgst", "-sha256", "-verify", pub, "-signature", sig, tampered])
        #expect(bad.status != 0)
    }

    @Test func weVerifyOpenSSLCLISignatureWithKeyExportedFromOurDER() throws {
        let key = TestKeys.primary
        let kid = try key.thumbprint()
        let ours = try JWTParser.parse(JWTSigner.sign(CryptoFixtures.sampleClaims(), key: key, keyID: kid, type: "at+jwt"),
                                       expectedType: "at+jwt")
        let dir = try CryptoFixtures.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        // PEM built from our PKCS#8 DER, so this also proves the DER export is standard.
        let pem = try write(RSAKey(privateKeyDER: key.privateKeyDER()).privateKeyPEM(), "key.pem", in: dir)
        let input = try write(ours.signingInput, "input.txt", in: dir)
        let sigPath = dir.appendingPathComponent("sig.bin").path
        let signed = try CryptoFixtures.runProcess(Self.openssl, ["dgst", "-sha256", "-sign", pem, "-out", sigPath, input])
        try #require(signed.status == 0, "openssl could not sign with our exported key: \(signed.stderr)")
        let signature = try [UInt8](Data(contentsOf: URL(fileURLWithPath: sigPath)))
        #expect(signature == ours.signature, "PKCS#1 v1.5 is deterministic: both implementations must agree")

        let token = String(decoding: ours.signingInput, as: UTF8.self) + "." + Base64URL.encode(signature)
        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        try parsed.verifySignature(with: RSAKey(publicJWK: key.publicJWK()))
        #expect(try parsed.decodePayload(AccessTokenClaims.self) == CryptoFixtures.sampleClaims())
    }

    @Test func joserfcVerifiesOurTokenWithOurJWKS() throws {
        let key = TestKeys.primary
        let claims = CryptoFixtures.sampleClaims(aud: .many(["https://mcp.example.com/mcp", "https://other.example.com"]))
        let token = try JWTSigner.sign(claims, key: key, keyID: key.thumbprint(), type: "at+jwt")
        let dir = try CryptoFixtures.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokenPath = try write(token, "token.jwt", in: dir)
        let jwksPath = try write(JSONEncoder().encode(JWKS(keys: [key.publicJWK()])).map { $0 }, "jwks.json", in: dir)

        let result = try runPython(["verify", tokenPath, jwksPath, "at+jwt"], in: dir)
        try #require(result.status == 0, "python3 + joserfc must be available and accept our token: \(result.stderr)")
        let verified = try JSONDecoder().decode(AccessTokenClaims.self, from: Data(result.stdout.utf8))
        #expect(verified == claims)

        // And joserfc must reject the same token under someone else's key.
        let otherJWKS = try write(JSONEncoder().encode(JWKS(keys: [TestKeys.secondary.publicJWK()])).map { $0 },
                                  "other.json", in: dir)
        #expect(try runPython(["verify", tokenPath, otherJWKS, "at+jwt"], in: dir).status != 0)
    }

    @Test func weVerifyJoserfcTokenSignedWithKeyExportedFromOurDER() throws {
        let key = TestKeys.primary
        let kid = try key.thumbprint()
        let dir = try CryptoFixtures.makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let pem = try write(RSAKey(privateKeyDER: key.privateKeyDER()).privateKeyPEM(), "key.pem", in: dir)
        let claimsPath = try write(JSONEncoder().encode(CryptoFixtures.sampleClaims()).map { $0 }, "claims.json", in: dir)

        let result = try runPython(["sign", pem, kid, "at+jwt", claimsPath], in: dir)
        try #require(result.status == 0, "python3 + joserfc must be available and sign: \(result.stderr)")
        let token = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        #expect(parsed.header == JOSEHeader(alg: "RS256", typ: "at+jwt", kid: kid))
        try parsed.verifySignature(with: RSAKey(publicJWK: key.publicJWK()))
        let claims = try parsed.decodePayload(AccessTokenClaims.self)
        #expect(claims == CryptoFixtures.sampleClaims())
        try claims.validate(issuer: "https://auth.example.com", audience: "https://mcp.example.com/mcp",
                            now: claims.iat + 10)
        #expect(throws: JWTError.badSignature) { try parsed.verifySignature(with: TestKeys.secondary) }
    }
}
