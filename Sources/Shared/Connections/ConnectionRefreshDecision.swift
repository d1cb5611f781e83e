import Foundation

/// What a stored connection means for a tool call about to be made, decided without side effects
/// (the store acts on it twice: once on an unlocked read, and again under the row lock, so a
/// refresh another replica finished meanwhile is seen and not repeated).
public enum ConnectionRefreshDecision: Equatable, Sendable {
    /// The access token is good for longer than the window: hand it over.
    case use
    /// It expires within the window (or has expired) and a refresh token is there: refresh first.
    case refresh
    /// Refreshing is impossible: the provider refused a refresh before, or the token has expired
    /// with no refresh token. The user must connect again.
    case broken

    /// RFC 6749 §6: the client refreshes with "the refresh token issued to the client"; doing so
    /// `window` seconds before `expires_at` keeps a call from starting with a token that dies
    /// during it. A token without `expires_in` is used until the provider refuses it.
    public static func decide(status: UserConnectionStore.Status, expiresAt: Date?, hasRefreshToken: Bool,
                              now: Date, window: TimeInterval) -> ConnectionRefreshDecision {
        guard status == .live else { return .broken }
        guard let expiresAt, expiresAt.timeIntervalSince(now) <= window else { return .use }
        if hasRefreshToken { return .refresh }
        return expiresAt > now ? .use : .broken
    }
}
