/// The asymmetric JWS algorithms Gatehouse verifies in client assertions (`private_key_jwt`).
///
/// RFC 8725 §3.1: "libraries MUST enable the caller to specify a supported set of algorithms and MUST NOT
/// use any other algorithms when performing cryptographic operations." The set is closed: `none` and the
/// HMAC algorithms (`HS256`…) have no case, so a header naming them never reaches a key.
public enum JWSAlgorithm: String, Sendable, CaseIterable {
    /// RFC 7518 §3.3: RSASSA-PKCS1-v1_5 using SHA-256.
    case rs256 = "RS256"
    /// RFC 7518 §3.5: RSASSA-PSS using SHA-256 and MGF1 with SHA-256, salt as long as the hash.
    case ps256 = "PS256"
    /// RFC 7518 §3.4: ECDSA using P-256 and SHA-256.
    case es256 = "ES256"

    /// The `kty` a key must have to verify this algorithm.
    public var keyType: String {
        switch self {
        case .rs256, .ps256: "RSA"
        case .es256: "EC"
        }
    }
}
