import Shared

/// Why a request's bearer token was refused. `description` is the short, safe
/// `error_description` (RFC 6750 §3: "human-readable ASCII text"); it never contains the token.
/// `metricLabel` is the bounded value used as the metrics dimension.
enum TokenRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// RFC 6750 §3.1: "If the request lacks any authentication information … the resource server
    /// SHOULD NOT include an error code or other error information."
    case missing
    /// RFC 6750 §2.3 / §3.1 `invalid_request`: the token came in a way we do not accept (query string,
    /// several methods at once).
    case invalidRequest(String)
    /// RFC 6750 §3.1 `invalid_token`: "The access token provided is expired, revoked, malformed, or
    /// invalid for other reasons."
    case invalidToken(JWTError)
    case revoked
    /// The token's signing key was retired after a compromise (`AuthServer keys retire --immediately`).
    case signingKeyRevoked
    /// An API key (`gh_pat_…`) that is not accepted here; see `APIKeyRejection`.
    case apiKey(APIKeyRejection)

    var description: String {
        switch self {
        case .missing: "no access token"
        case .invalidRequest(let reason): reason
        case .invalidToken(let error): error.description
        case .revoked: "token revoked"
        case .signingKeyRevoked: "signing key revoked"
        case .apiKey(let rejection): rejection.description
        }
    }

    var metricLabel: String {
        switch self {
        case .missing: "missing"
        case .invalidRequest: "invalid_request"
        case .revoked: "revoked"
        case .signingKeyRevoked: "signing_key_revoked"
        case .apiKey(let rejection): rejection.metricLabel
        case .invalidToken(let error):
            switch error {
            case .malformed: "malformed"
            case .unsupportedAlgorithm: "unsupported_algorithm"
            case .wrongType: "wrong_type"
            case .missingKeyID: "missing_kid"
            case .unknownKeyID: "unknown_kid"
            case .badSignature: "bad_signature"
            case .expired: "expired"
            case .notYetValid: "not_yet_valid"
            case .issuedInFuture: "issued_in_future"
            case .lifetimeTooLong: "lifetime_too_long"
            case .wrongIssuer: "wrong_issuer"
            case .wrongAudience: "wrong_audience"
            case .missingClaim: "missing_claim"
            }
        }
    }
}
