import Foundation

/// A compact JWS signed by someone else with one of the asymmetric `JWSAlgorithm`s (a client assertion),
/// split and checked before any key is touched. Unlike `JWTParser`, which pins RS256 for our own tokens,
/// the caller names the set of algorithms it accepts; `typ` and `kid` are optional (RFC 7523 requires
/// neither).
public struct SignedJWS: Sendable {
    public let header: JOSEHeader
    public let algorithm: JWSAlgorithm
    public let payload: [UInt8]
    /// ASCII(BASE64URL(header) || '.' || BASE64URL(payload)), exactly as received.
    public let signingInput: [UInt8]
    public let signature: [UInt8]

    /// Checks size, shape, base64url, the JSON header (no `crit`), and that `alg` is one of `allowed`.
    public static func parse(_ token: String, allowed: Set<JWSAlgorithm>) throws(JWTError) -> SignedJWS {
        let (headerBytes, payload, signature, signingInput) = try JWTParser.split(token)
        let header = try JWTParser.decodeHeader(headerBytes)
        // `none`, `HS256` and every other name outside the closed set end here.
        guard let algorithm = JWSAlgorithm(rawValue: header.alg), allowed.contains(algorithm) else {
            throw .unsupportedAlgorithm(header.alg)
        }
        guard !signature.isEmpty else { throw .malformed("empty signature") }
        return SignedJWS(header: header, algorithm: algorithm, payload: payload, signingInput: signingInput, signature: signature)
    }

    /// True when `key` may verify this algorithm and the signature is valid under it.
    public func isSigned(by key: JWSPublicKey) -> Bool {
        key.accepts(algorithm) && key.verify(algorithm, signature: signature, message: signingInput)
    }

    /// Decodes the payload; a missing required member becomes `.missingClaim(name)`, anything else `.malformed`.
    public func decodePayload<C: Decodable>(_ type: C.Type) throws(JWTError) -> C {
        try JWTParser.decodeClaims(C.self, from: payload)
    }
}
