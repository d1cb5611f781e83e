/// What asking a provider for new tokens gave.
public enum ConnectionTokenOutcome: Sendable, Equatable {
    case tokens(ConnectionTokens)
    /// The provider answered with an OAuth error (RFC 6749 §5.2), e.g. `invalid_grant` when the
    /// refresh token was revoked: the connection is broken.
    case refused(error: String)
    /// No answer to trust (unreachable, 5xx, not JSON): the next call tries again.
    case failed(reason: String)
}
