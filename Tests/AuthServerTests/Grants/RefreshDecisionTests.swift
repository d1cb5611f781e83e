import Foundation
import Testing
@testable import AuthServer

/// `RefreshDecision.decide`, every branch and every boundary, with fixed dates.
@Suite struct RefreshDecisionTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)
    static let grace: TimeInterval = 30

    static func state(expiresIn: TimeInterval = 3600, rotatedAgo: TimeInterval? = nil, successorUsed: Bool = false,
                      sealed: Bool = true, revoked: Bool = false, client: String = "client-a") -> RefreshDecision.TokenState {
        RefreshDecision.TokenState(
            expiresAt: now.addingTimeInterval(expiresIn), rotatedAt: rotatedAgo.map { now.addingTimeInterval(-$0) },
            successorUsed: successorUsed, hasSealedReplay: sealed, familyRevoked: revoked, familyClientID: client)
    }

    static func decide(_ state: RefreshDecision.TokenState?, client: String = "client-a") -> RefreshDecision {
        RefreshDecision.decide(state, clientID: client, now: now, grace: grace)
    }

    @Test func unknownTokenIsRefused() {
        #expect(Self.decide(nil) == .refuse("the refresh token is invalid"))
    }

    @Test func liveUnrotatedTokenRotates() {
        #expect(Self.decide(Self.state()) == .rotate)
        #expect(Self.decide(Self.state(expiresIn: 0.001)) == .rotate)
    }

    @Test("expiry: expires_at must be strictly after now")
    func expiredTokenIsRefused() {
        #expect(Self.decide(Self.state(expiresIn: 0)) == .refuse("the refresh token has expired"))
        #expect(Self.decide(Self.state(expiresIn: -1)) == .refuse("the refresh token has expired"))
    }

    @Test("another client's token is refused before anything about its state is revealed")
    func anotherClientFirst() {
        let foreign = RefreshDecision.refuse("the refresh token was issued to another client")
        #expect(Self.decide(Self.state(), client: "client-b") == foreign)
        #expect(Self.decide(Self.state(revoked: true), client: "client-b") == foreign)
        #expect(Self.decide(Self.state(expiresIn: -10), client: "client-b") == foreign)
        #expect(Self.decide(Self.state(rotatedAgo: 100, successorUsed: true), client: "client-b") == foreign)
    }

    @Test("a revoked family refuses every token in it, rotated or not, before reuse detection")
    func revokedFamily() {
        let revoked = RefreshDecision.refuse("the refresh token has been revoked")
        #expect(Self.decide(Self.state(revoked: true)) == revoked)
        #expect(Self.decide(Self.state(rotatedAgo: 1, revoked: true)) == revoked)
        #expect(Self.decide(Self.state(rotatedAgo: 100, successorUsed: true, revoked: true)) == revoked)
        #expect(Self.decide(Self.state(expiresIn: -1, revoked: true)) == revoked)
    }

    @Test("replay within grace: rotated, successor unused, answer sealed, at most `grace` seconds ago (inclusive)")
    func replayWithinGrace() {
        #expect(Self.decide(Self.state(rotatedAgo: 0)) == .replayWithinGrace)
        #expect(Self.decide(Self.state(rotatedAgo: 29.9)) == .replayWithinGrace)
        #expect(Self.decide(Self.state(rotatedAgo: 30)) == .replayWithinGrace)
        // The rotated token's own expiry does not matter within the window.
        #expect(Self.decide(Self.state(expiresIn: -1, rotatedAgo: 5)) == .replayWithinGrace)
    }

    @Test("RFC 9700 §4.14.2: every other presentation of a rotated token is reuse")
    func reuseDetected() {
        #expect(Self.decide(Self.state(rotatedAgo: 30.001)) == .reuseDetected)
        #expect(Self.decide(Self.state(rotatedAgo: 5, successorUsed: true)) == .reuseDetected)
        #expect(Self.decide(Self.state(rotatedAgo: 5, sealed: false)) == .reuseDetected)
        #expect(Self.decide(Self.state(expiresIn: -1, rotatedAgo: 3600)) == .reuseDetected)
        #expect(Self.decide(Self.state(rotatedAgo: 0, successorUsed: true, sealed: false)) == .reuseDetected)
    }

    @Test("a zero grace window allows only a replay at the very same instant")
    func zeroGrace() {
        let state = Self.state(rotatedAgo: 0)
        #expect(RefreshDecision.decide(state, clientID: "client-a", now: Self.now, grace: 0) == .replayWithinGrace)
        #expect(RefreshDecision.decide(Self.state(rotatedAgo: 0.5), clientID: "client-a", now: Self.now, grace: 0) == .reuseDetected)
    }

    @Test("a token whose rotation lies in the future (clock skew between replicas) counts as within grace")
    func rotationInTheFuture() {
        #expect(Self.decide(Self.state(rotatedAgo: -5)) == .replayWithinGrace)
    }
}
