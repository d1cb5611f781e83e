import Foundation

/// Mints compact JWS tokens (RFC 7515 §7.1) signed with RS256.
public enum JWTSigner {
    /// Produces `BASE64URL(header) . BASE64URL(payload) . BASE64URL(signature)` with header
    /// `{"alg":"RS256","kid":keyID,"typ":type}`.
    ///
    /// RFC 7515 §5.1: the signature is computed over "ASCII(BASE64URL(UTF8(JWS Protected Header)) || '.' ||
    /// BASE64URL(JWS Payload))".
    public static func sign<C: Encodable>(_ claims: C, key: RSAKey, keyID: String, type: String) throws -> String {
        let encoder = JSONEncoder()
        // Stable bytes for identical claims (useful for tests and caching); no "\/" noise in URLs.
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let header = try encoder.encode(JOSEHeader(alg: "RS256", typ: type, kid: keyID))
        let payload = try encoder.encode(claims)
        let signingInput = Base64URL.encode(header) + "." + Base64URL.encode(payload)
        let signature = try key.signRS256(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }
}
