/// Why a JWT was rejected. `description` is short and safe to put in an `error_description`:
/// it never echoes the token or claim values.
public enum JWTError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not three base64url parts, bad base64, bad JSON, too large, `crit` present, etc.
    case malformed(String)
    /// `alg` other than RS256, including "none" and "HS256".
    case unsupportedAlgorithm(String)
    case wrongType(String?)
    case missingKeyID
    case unknownKeyID(String)
    case badSignature
    case expired, notYetValid, issuedInFuture
    /// `exp − iat` is longer than any token the authorization server issues (plus the leeway).
    case lifetimeTooLong
    case wrongIssuer, wrongAudience
    case missingClaim(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed token: \(reason)"
        case .unsupportedAlgorithm: "unsupported signing algorithm"
        case .wrongType: "unexpected token type"
        case .missingKeyID: "token has no key ID"
        case .unknownKeyID: "unknown signing key"
        case .badSignature: "invalid signature"
        case .expired: "token expired"
        case .notYetValid: "token not yet valid"
        case .issuedInFuture: "token issued in the future"
        case .lifetimeTooLong: "token lifetime too long"
        case .wrongIssuer: "wrong issuer"
        case .wrongAudience: "token not intended for this resource"
        case .missingClaim(let claim): "missing claim: \(claim)"
        }
    }
}
