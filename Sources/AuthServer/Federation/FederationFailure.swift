import HTTPTypes

/// Why a sign-in through an upstream identity provider did not complete. Shown to the person on
/// Gatehouse's own page (`message`, `code`) with a way back to the login page, and audited
/// (`login_failed` with `detail.provider` and `detail.reason`); never a 500, never a redirect.
///
/// The message names what went wrong in words an operator can act on; it never carries a code,
/// token, secret or the provider's raw answer.
struct FederationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    enum Code: String, Sendable {
        /// The provider answered the authorization request with an error (the person said no).
        case providerDenied = "access_denied"
        /// The provider could not be reached, or answered something that is not its protocol.
        case providerUnavailable = "provider_unavailable"
        /// The provider's discovery document, token response or user data is unusable.
        case providerError = "provider_error"
        /// The ID token failed a check (signature, issuer, audience, nonce, time).
        case invalidIDToken = "invalid_id_token"
        /// The callback does not belong to a sign-in this browser started (state, cookie, request).
        case invalidState = "invalid_state"
        /// No `allow` rule matches the person.
        case notAllowed = "not_allowed"
        /// The linked Gatehouse account is disabled.
        case accountDisabled = "account_disabled"
    }

    let code: Code
    let message: String

    init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    var description: String { "\(code.rawValue): \(message)" }

    /// 403 for a decision about the person, 400 for a request that cannot be used, 502 for the provider.
    var status: HTTPResponse.Status {
        switch code {
        case .notAllowed, .accountDisabled, .providerDenied: .forbidden
        case .invalidState: .badRequest
        case .providerUnavailable, .providerError, .invalidIDToken: .badGateway
        }
    }
}
