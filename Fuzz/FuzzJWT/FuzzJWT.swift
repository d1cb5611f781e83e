import Foundation
import FuzzSupport
import Shared

// libFuzzer harness for `JWTParser` (and the `Base64URL` and claims code behind it): one input is
// one candidate compact JWS. Built and run only by scripts/fuzz.sh (docs/testing.md "Fuzzing").
//
// Invariants, each a crash when broken:
// - a token that parses has exactly three segments, within `maximumTokenLength`; its payload and
//   signature re-encode to their segments byte for byte, its header segment decodes to the header
//   it reports, and its signing input is the first two segments exactly as received;
// - its header is RS256 with a non-empty `kid` and the expected `typ`, its signature non-empty;
// - no signature made without our key verifies with it, and a key set without its `kid` says
//   `unknownKeyID`;
// - decoding and validating its payload as access-token claims only ever throws `JWTError`;
// - a rejected token's error description never echoes the token;
// - `Base64URL` round-trips: every accepted string is the one spelling of the bytes it decodes to.

/// A key no input was signed with: whatever the fuzzer builds, its signature must not verify.
let outsiderKey = try! RSAKey.generate(bits: 2048)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJWT(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text = String(decoding: bytes, as: UTF8.self)
    checkBase64URL(text, bytes: bytes)
    for type in ["at+jwt", "JWT"] { checkToken(text, expectedType: type) }
    return 0
}

func checkBase64URL(_ text: String, bytes: [UInt8]) {
    let encoded = Base64URL.encode(bytes)
    require(Base64URL.decode(encoded) == bytes, "Base64URL does not round-trip \(bytes.count) bytes")
    if let decoded = Base64URL.decode(text) {
        require(Base64URL.encode(decoded) == text, "Base64URL accepted a second spelling: \(text.debugDescription)")
    }
}

func checkToken(_ token: String, expectedType: String) {
    let parsed: ParsedJWT
    do {
        parsed = try JWTParser.parse(token, expectedType: expectedType)
    } catch {
        if token.utf8.count >= 12 {
            require(!error.description.contains(token), "the error description echoes the token")
        }
        return
    }
    let segments = token.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    require(segments.count == 3, "parsed a token with \(segments.count) segments")
    require(token.utf8.count <= JWTParser.maximumTokenLength, "parsed a token over the size limit")
    require(parsed.signingInput == Array((segments[0] + "." + segments[1]).utf8), "signing input differs from the received segments")
    require(Base64URL.encode(parsed.payload) == segments[1], "payload does not re-encode to its segment")
    require(Base64URL.encode(parsed.signature) == segments[2], "signature does not re-encode to its segment")
    require(!parsed.signature.isEmpty, "parsed a token with an empty signature")
    guard let headerBytes = Base64URL.decode(segments[0]) else { return require(false, "header segment is not base64url") }
    require(Base64URL.encode(headerBytes) == segments[0], "header does not re-encode to its segment")
    let header = try? JSONDecoder().decode(JOSEHeader.self, from: Data(headerBytes))
    require(header == parsed.header, "header segment decodes to another header")
    require(parsed.header.alg == "RS256", "accepted alg \(parsed.header.alg)")
    require(!(parsed.header.kid ?? "").isEmpty, "accepted a token without kid")
    let typ = parsed.header.typ?.lowercased() ?? ""
    require(typ == expectedType.lowercased() || typ == "application/" + expectedType.lowercased(), "accepted typ \(typ)")

    do {
        try parsed.verifySignature(with: outsiderKey)
        require(false, "a signature not made with the key verified")
    } catch {
        require(error == .badSignature, "verification failed with \(error), not badSignature")
    }
    do {
        try parsed.verifySignature(withKeys: [:])
        require(false, "verified against an empty key set")
    } catch {
        require(error == .unknownKeyID(parsed.header.kid ?? ""), "empty key set gave \(error)")
    }
    // The ResourceServer validates claims only after the signature; here every payload reaches them.
    if let claims = try? parsed.decodePayload(AccessTokenClaims.self) {
        try? claims.validate(issuer: "https://auth.example.com", audience: "https://mcp.example.com/mcp",
                             now: 1_700_000_000, leeway: 30, maximumLifetime: 3600)
    }
}

/// The entry point SwiftPM links as `main` (see `runLibFuzzer`).
@_cdecl("FuzzJWT_main")
func fuzzJWTMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzJWT)
}
