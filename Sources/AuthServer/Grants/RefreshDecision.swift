import Foundation

/// What a presented refresh token means, decided without side effects so that every case can
/// be tested exhaustively; `RefreshTokenGrant` then carries the decision out in one transaction.
///
/// OAuth 2.1 §4.3.1: refresh tokens of public clients are rotated. RFC 9700 §4.14.2: "If a
/// refresh token is compromised and subsequently used by both the attacker and the legitimate
/// client, one of them will present an invalidated refresh token, which will inform the
/// authorization server of the breach. The authorization server cannot determine which party
/// submitted the invalid refresh token, but it will revoke the active refresh token."
enum RefreshDecision: Equatable, Sendable {
    case rotate
    /// The same token again within the grace window while its successor is still unused: a lost
    /// response or two concurrent refreshes. The same answer is returned again.
    case replayWithinGrace
    /// A rotated token presented after the grace window or after its successor was used.
    case reuseDetected
    case refuse(String)

    struct TokenState: Sendable {
        var expiresAt: Date
        var rotatedAt: Date?
        var successorUsed: Bool
        var hasSealedReplay: Bool
        var familyRevoked: Bool
        var familyClientID: String
    }

    static func decide(_ state: TokenState?, clientID: String, now: Date, grace: TimeInterval) -> RefreshDecision {
        guard let state else { return .refuse("the refresh token is invalid") }
        // Checked first, so a stolen token tells another client nothing about its state.
        guard state.familyClientID == clientID else { return .refuse("the refresh token was issued to another client") }
        guard !state.familyRevoked else { return .refuse("the refresh token has been revoked") }
        if let rotatedAt = state.rotatedAt {
            if !state.successorUsed, state.hasSealedReplay, now.timeIntervalSince(rotatedAt) <= grace {
                return .replayWithinGrace
            }
            return .reuseDetected
        }
        guard state.expiresAt > now else { return .refuse("the refresh token has expired") }
        return .rotate
    }
}
