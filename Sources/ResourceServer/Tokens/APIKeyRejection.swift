/// Why an API key (`gh_pat_…`) was refused; each answers 401 `invalid_token` (RFC 6750 §3.1: "The
/// access token provided is expired, revoked, malformed, or invalid for other reasons"). A revoked
/// key is `TokenRejection.revoked`, like a revoked access token. The description never holds the key.
enum APIKeyRejection: Error, Sendable, Equatable, CustomStringConvertible {
    /// `GATEHOUSE_API_KEYS=false`: keys are not accepted at this deployment.
    case disabled
    /// Not a well-formed key, or no such key.
    case unknown
    case expired
    /// The key was created for another resource.
    case wrongResource
    case userDisabled

    var description: String {
        switch self {
        case .disabled: "API keys are not accepted here"
        case .unknown: "unknown API key"
        case .expired: "API key expired"
        case .wrongResource: "API key is not valid for this resource"
        case .userDisabled: "API key's user is disabled"
        }
    }

    var metricLabel: String {
        switch self {
        case .disabled: "api_keys_disabled"
        case .unknown: "api_key_unknown"
        case .expired: "api_key_expired"
        case .wrongResource: "api_key_wrong_resource"
        case .userDisabled: "api_key_user_disabled"
        }
    }
}
