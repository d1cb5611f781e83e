import Foundation
import NIOConcurrencyHelpers
@testable import AuthServer

/// A wall clock that moves only when a test says so: codes, sessions and refresh tokens expire
/// by `advance(seconds:)`, never by sleeping.
///
/// It starts a few seconds ahead of real time, so a signing key the server bootstraps at
/// `Date()` is already active at the test's "now".
final class TestClock: Sendable {
    private let current: NIOLockedValueBox<Date>

    init(_ start: Date = Date().addingTimeInterval(5)) {
        current = NIOLockedValueBox(start)
    }

    var now: Date { current.withLockedValue { $0 } }

    func advance(seconds: TimeInterval) {
        current.withLockedValue { $0 = $0.addingTimeInterval(seconds) }
    }

    /// The server's injected clock, reading this one.
    var clock: Clock { Clock { [self] in self.now } }
}
