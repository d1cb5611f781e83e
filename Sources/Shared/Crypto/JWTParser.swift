import Foundation

/// Splits and checks a compact JWS before any key is touched. The algorithm is pinned to RS256 here:
/// RFC 8725 §3.1: "libraries MUST enable the caller to specify a supported set of algorithms and MUST NOT
/// use any other algorithms when performing cryptographic operations."
public enum JWTParser {
    /// Tokens are small (ours are under 1 KiB); refusing large input bounds the work an attacker can cause.
    public static let maximumTokenLength = 16 * 1024
    static let pinnedAlgorithm = "RS256"

    /// Checks size, the three-part shape, base64url, the JSON header, `alg == RS256`, `typ` (case-insensitive,
    /// with or without "application/") and the presence of `kid`. Does not verify the signature.
    public static func parse(_ token: String, expectedType: String) throws(JWTError) -> ParsedJWT {
        let (headerBytes, payload, signature, signingInput) = try split(token)
        let header = try decodeHeader(headerBytes)
        guard header.alg == pinnedAlgorithm else { throw .unsupportedAlgorithm(header.alg) }
        guard let typ = header.typ, typeMatches(typ, expected: expectedType) else { throw .wrongType(header.typ) }
        guard let kid = header.kid, !kid.isEmpty else { throw .missingKeyID }
        // Checked after the header so that an unsigned `alg: none` token is reported as such.
        guard !signature.isEmpty else { throw .malformed("empty signature") }

        return ParsedJWT(header: header, payload: payload, signingInput: signingInput, signature: signature)
    }

    static func decodeHeader(_ bytes: [UInt8]) throws(JWTError) -> JOSEHeader {
        let data = Data(bytes)
        let decoder = JSONDecoder()
        let header: JOSEHeader
        let probe: CriticalHeaderProbe
        do {
            header = try decoder.decode(JOSEHeader.self, from: data)
            probe = try decoder.decode(CriticalHeaderProbe.self, from: data)
        } catch {
            throw .malformed("header is not a valid JOSE header")
        }
        guard probe.crit == nil else { throw .malformed("unsupported critical header parameters") }
        return header
    }

    /// Splits a compact JWS after checking its size: the decoded header, payload and signature,
    /// and the signing input exactly as received.
    ///
    /// RFC 7515 §7.1: "JWS Compact Serialization ... BASE64URL(UTF8(JWS Protected Header)) || '.' ||
    /// BASE64URL(JWS Payload) || '.' || BASE64URL(JWS Signature)".
    static func split(_ token: String) throws(JWTError)
        -> (header: [UInt8], payload: [UInt8], signature: [UInt8], signingInput: [UInt8]) {
        guard token.utf8.count <= maximumTokenLength else { throw .malformed("token too large") }
        let parts = token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw .malformed("expected three dot-separated parts") }
        guard let header = Base64URL.decode(String(decoding: parts[0], as: UTF8.self)),
              let payload = Base64URL.decode(String(decoding: parts[1], as: UTF8.self)),
              let signature = Base64URL.decode(String(decoding: parts[2], as: UTF8.self))
        else { throw .malformed("invalid base64url") }
        return (header, payload, signature, Array(token.utf8[parts[0].startIndex..<parts[1].endIndex]))
    }

    /// Decodes a JWS payload as claims; a missing required member becomes `.missingClaim(name)`,
    /// anything else `.malformed`.
    static func decodeClaims<C: Decodable>(_ type: C.Type, from payload: [UInt8]) throws(JWTError) -> C {
        do {
            return try JSONDecoder().decode(C.self, from: Data(payload))
        } catch DecodingError.keyNotFound(let key, _) {
            throw .missingClaim(key.stringValue)
        } catch {
            throw .malformed("payload does not match the expected claims")
        }
    }

    /// RFC 7515 §4.1.9: "It is RECOMMENDED that the "application/" prefix be omitted" and media type names
    /// are case-insensitive, so "at+jwt", "AT+JWT" and "application/at+jwt" are the same type.
    static func typeMatches(_ typ: String, expected: String) -> Bool {
        let actual = typ.lowercased()
        let wanted = expected.lowercased()
        return actual == wanted || actual == "application/" + wanted
    }
}

/// A structurally valid RS256 JWS whose signature has not been checked yet.
public struct ParsedJWT: Sendable {
    public let header: JOSEHeader
    public let payload: [UInt8]
    /// ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), exactly as received.
    public let signingInput: [UInt8]
    public let signature: [UInt8]

    public func verifySignature(with key: RSAKey) throws(JWTError) {
        guard key.verifyRS256(signature: signature, message: signingInput) else { throw .badSignature }
    }

    /// Picks the key named by the header's `kid` (RFC 7515 §4.1.4) and verifies with it.
    /// `keys` maps key IDs to keys, e.g. built from the authorization server's JWKS.
    public func verifySignature(withKeys keys: [String: RSAKey]) throws(JWTError) {
        guard let kid = header.kid, !kid.isEmpty else { throw .missingKeyID }
        guard let key = keys[kid] else { throw .unknownKeyID(kid) }
        try verifySignature(with: key)
    }

    /// Decodes the payload; a missing required member becomes `.missingClaim(name)`, anything else `.malformed`.
    public func decodePayload<C: Decodable>(_ type: C.Type) throws(JWTError) -> C {
        try JWTParser.decodeClaims(C.self, from: payload)
    }
}
