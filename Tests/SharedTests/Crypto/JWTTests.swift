import Foundation
import Shared
import TestSupport
import Testing

@Suite struct JWTTests {
    static let issuer = "https://auth.example.com"
    static let audience = "https://mcp.example.com/mcp"
    static let now = 1_700_000_000

    /// Builds a compact JWS from raw JSON, signed RS256 with `key` (or carrying `signature` verbatim).
    func forge(header: String, payload: String, key: RSAKey? = nil, signature: [UInt8]? = nil) throws -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
        let sig = try signature ?? (key ?? TestKeys.primary).signRS256(Array(input.utf8))
        return input + "." + Base64URL.encode(sig)
    }

    func signed(_ claims: AccessTokenClaims) throws -> String {
        let key = TestKeys.primary
        return try JWTSigner.sign(claims, key: key, keyID: key.thumbprint(), type: "at+jwt")
    }

    func parseAndValidate(_ token: String, issuer: String = issuer, audience: String = audience,
                          now: Int = now) throws(JWTError) -> AccessTokenClaims {
        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        let key = TestKeys.primary
        try parsed.verifySignature(with: key)
        let claims = try parsed.decodePayload(AccessTokenClaims.self)
        try claims.validate(issuer: issuer, audience: audience, now: now)
        return claims
    }

    @Test func signedTokenHasPinnedHeaderAndValidates() throws {
        let token = try signed(CryptoFixtures.sampleClaims(now: Self.now))
        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        #expect(parsed.header == JOSEHeader(alg: "RS256", typ: "at+jwt", kid: try TestKeys.primary.thumbprint()))
        #expect(String(decoding: parsed.payload, as: UTF8.self).contains("\"aud\":\"https://mcp.example.com/mcp\""))
        #expect(try parseAndValidate(token) == CryptoFixtures.sampleClaims(now: Self.now))
    }

    @Test func verifySignatureWithKeysSelectsByKid() throws {
        let key = TestKeys.primary
        let parsed = try JWTParser.parse(try signed(CryptoFixtures.sampleClaims()), expectedType: "at+jwt")
        try parsed.verifySignature(withKeys: [key.thumbprint(): key])
        #expect(throws: JWTError.unknownKeyID(try key.thumbprint())) {
            try parsed.verifySignature(withKeys: ["other": TestKeys.secondary])
        }
    }

    @Test func malformedShapes() throws {
        let token = try signed(CryptoFixtures.sampleClaims())
        let parts = token.split(separator: ".").map(String.init)
        let cases: [(String, String)] = [
            ("two parts", parts[0] + "." + parts[1]),
            ("four parts", token + ".AAAA"),
            ("bad base64 in header", "eyJ+" + "." + parts[1] + "." + parts[2]),
            ("padded signature", token + "="),
            ("header not JSON", Base64URL.encode(Array("not json".utf8)) + "." + parts[1] + "." + parts[2]),
            ("header JSON without alg", Base64URL.encode(Array("{\"typ\":\"at+jwt\"}".utf8)) + "." + parts[1] + "." + parts[2]),
            ("oversized", parts[0] + "." + Base64URL.encode([UInt8](repeating: 0x41, count: 13_000)) + "." + parts[2]),
            ("empty signature", parts[0] + "." + parts[1] + "."),
            ("empty", ""),
        ]
        for (name, candidate) in cases {
            #expect(throws: JWTError.self, "\(name)") { try JWTParser.parse(candidate, expectedType: "at+jwt") }
            do {
                _ = try JWTParser.parse(candidate, expectedType: "at+jwt")
            } catch {
                guard case .malformed = error else { Issue.record("\(name): expected .malformed, got \(error)"); continue }
            }
        }
    }

    @Test func criticalHeaderIsRejected() throws {
        let token = try forge(header: #"{"alg":"RS256","typ":"at+jwt","kid":"k","crit":["exp"],"exp":1}"#, payload: "{}")
        #expect(throws: JWTError.malformed("unsupported critical header parameters")) {
            try JWTParser.parse(token, expectedType: "at+jwt")
        }
    }

    @Test func algNoneIsRejected() throws {
        let header = Base64URL.encode(Array(#"{"alg":"none","typ":"at+jwt","kid":"k"}"#.utf8))
        let payload = Base64URL.encode(try JSONEncoder().encode(CryptoFixtures.sampleClaims()))
        #expect(throws: JWTError.unsupportedAlgorithm("none")) {
            try JWTParser.parse(header + "." + payload + ".", expectedType: "at+jwt")
        }
    }

    /// The classic key-confusion attack: HMAC "signed" with the RSA public key as the shared secret.
    @Test func algHS256SignedWithPublicKeyIsRejected() throws {
        let key = TestKeys.primary
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"at+jwt","kid":"\#(try key.thumbprint())"}"#.utf8))
        let input = header + "." + Base64URL.encode(try JSONEncoder().encode(CryptoFixtures.sampleClaims()))
        let mac = Digest.hmacSHA256(key: Array(try key.publicKeyPEM().utf8), message: Array(input.utf8))
        #expect(throws: JWTError.unsupportedAlgorithm("HS256")) {
            try JWTParser.parse(input + "." + Base64URL.encode(mac), expectedType: "at+jwt")
        }
    }

    @Test func missingOrEmptyKidIsRejected() throws {
        for header in [#"{"alg":"RS256","typ":"at+jwt"}"#, #"{"alg":"RS256","typ":"at+jwt","kid":""}"#] {
            let token = try forge(header: header, payload: "{}")
            #expect(throws: JWTError.missingKeyID) { try JWTParser.parse(token, expectedType: "at+jwt") }
        }
    }

    @Test func typeMustMatch() throws {
        for (typ, expected) in [("JWT", JWTError.wrongType("JWT")), ("application/jwt", .wrongType("application/jwt"))] {
            let token = try forge(header: #"{"alg":"RS256","typ":"\#(typ)","kid":"k"}"#, payload: "{}")
            #expect(throws: expected) { try JWTParser.parse(token, expectedType: "at+jwt") }
        }
        let untyped = try forge(header: #"{"alg":"RS256","kid":"k"}"#, payload: "{}")
        #expect(throws: JWTError.wrongType(nil)) { try JWTParser.parse(untyped, expectedType: "at+jwt") }
        for typ in ["AT+JWT", "application/at+jwt", "Application/AT+jwt"] {
            let token = try forge(header: #"{"alg":"RS256","typ":"\#(typ)","kid":"k"}"#, payload: "{}")
            #expect(try JWTParser.parse(token, expectedType: "at+jwt").header.typ == typ)
        }
    }

    @Test func badSignatureIsRejected() throws {
        let otherKey = TestKeys.secondary
        let foreign = try JWTSigner.sign(CryptoFixtures.sampleClaims(now: Self.now), key: otherKey, keyID: TestKeys.primary.thumbprint(),
                                         type: "at+jwt")
        #expect(throws: JWTError.badSignature) { try parseAndValidate(foreign) }

        // Same signature, payload swapped for one with more scope.
        let genuine = try signed(CryptoFixtures.sampleClaims(now: Self.now)).split(separator: ".").map(String.init)
        var escalated = CryptoFixtures.sampleClaims(now: Self.now)
        escalated.scope += " admin"
        let swapped = genuine[0] + "." + Base64URL.encode(try JSONEncoder().encode(escalated)) + "." + genuine[2]
        #expect(throws: JWTError.badSignature) { try parseAndValidate(swapped) }
    }

    @Test func timeClaims() throws {
        let claims = CryptoFixtures.sampleClaims(now: Self.now)  // iat = now, exp = now + 300
        #expect(throws: JWTError.expired) { try parseAndValidate(signed(claims), now: Self.now + 330) }
        #expect(try parseAndValidate(signed(claims), now: Self.now + 329) == claims)  // within 30 s leeway

        var future = claims
        future.nbf = Self.now + 120
        #expect(throws: JWTError.notYetValid) { try parseAndValidate(signed(future)) }
        #expect(try parseAndValidate(signed(future), now: Self.now + 100) == future)

        #expect(throws: JWTError.issuedInFuture) { try parseAndValidate(signed(claims), now: Self.now - 31) }
    }

    /// Found while writing the FuzzJWT harness (docs/testing.md "Fuzzing"): `exp − iat` trapped on overflow.
    @Test func lifetimeThatOverflowsIsTooLong() throws {
        var claims = CryptoFixtures.sampleClaims(now: Self.now)
        (claims.exp, claims.iat) = (Int.max, Int.min)
        #expect(throws: JWTError.lifetimeTooLong) {
            try claims.validate(issuer: Self.issuer, audience: Self.audience, now: Self.now, maximumLifetime: 3600)
        }
        (claims.exp, claims.iat) = (Self.now + 3600, Self.now)
        try claims.validate(issuer: Self.issuer, audience: Self.audience, now: Self.now, maximumLifetime: 3600)
    }

    @Test func issuerMustMatchExactly() throws {
        let token = try signed(CryptoFixtures.sampleClaims(now: Self.now))
        for wrong in ["https://auth.example.com/", "https://AUTH.example.com", "http://auth.example.com", ""] {
            #expect(throws: JWTError.wrongIssuer, "\(wrong)") { try parseAndValidate(token, issuer: wrong) }
        }
    }

    @Test func audienceMustBeContained() throws {
        let single = try signed(CryptoFixtures.sampleClaims(now: Self.now))
        #expect(throws: JWTError.wrongAudience) { try parseAndValidate(single, audience: "https://mcp.example.com/mcp/") }
        #expect(throws: JWTError.wrongAudience) { try parseAndValidate(single, audience: "https://other.example.com") }

        let many = CryptoFixtures.sampleClaims(now: Self.now, aud: .many(["https://other.example.com", Self.audience]))
        #expect(try parseAndValidate(signed(many)).aud == many.aud)
        let none = CryptoFixtures.sampleClaims(now: Self.now, aud: .many([]))
        #expect(throws: JWTError.wrongAudience) { try parseAndValidate(signed(none)) }
    }

    @Test func missingRequiredClaimIsNamed() throws {
        let payload = #"{"iss":"https://auth.example.com","sub":"u","aud":"x","client_id":"c","scope":"s","iat":1,"exp":2}"#
        let parsed = try JWTParser.parse(try forge(header: #"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#, payload: payload),
                                         expectedType: "at+jwt")
        #expect(throws: JWTError.missingClaim("jti")) { try parsed.decodePayload(AccessTokenClaims.self) }
    }

    @Test func nonJSONPayloadIsMalformed() throws {
        let parsed = try JWTParser.parse(try forge(header: #"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#, payload: "nope"),
                                         expectedType: "at+jwt")
        #expect(throws: JWTError.malformed("payload does not match the expected claims")) {
            try parsed.decodePayload(AccessTokenClaims.self)
        }
    }

    @Test func audienceCodingShapes() throws {
        let encoder = JSONEncoder()
        #expect(String(decoding: try encoder.encode(Audience.one("a")), as: UTF8.self) == #""a""#)
        #expect(String(decoding: try encoder.encode(Audience.many(["a", "b"])), as: UTF8.self) == #"["a","b"]"#)
        #expect(try JSONDecoder().decode(Audience.self, from: Data(#"["a","b"]"#.utf8)) == .many(["a", "b"]))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Audience.self, from: Data("42".utf8)) }
    }

    @Test func descriptionsNeverEchoTheToken() throws {
        let token = try signed(CryptoFixtures.sampleClaims())
        let errors: [JWTError] = [.malformed("x"), .unsupportedAlgorithm(token), .wrongType(token), .missingKeyID,
                                  .unknownKeyID(token), .badSignature, .expired, .notYetValid, .issuedInFuture,
                                  .wrongIssuer, .wrongAudience, .missingClaim("jti")]
        for error in errors {
            #expect(!error.description.isEmpty)
            #expect(!error.description.contains(token))
        }
    }
}
