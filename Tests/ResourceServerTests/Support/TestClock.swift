import Foundation
import NIOConcurrencyHelpers

/// A wall clock that only moves when a test says so, for token times and the JWKS rate limit.
final class TestClock: Sendable {
    private let current: NIOLockedValueBox<Date>

    init(_ start: Date = Date(timeIntervalSince1970: Double(Int(Date().timeIntervalSince1970)))) {
        current = NIOLockedValueBox(start)
    }

    var now: Date { current.withLockedValue { $0 } }
    var seconds: Int { Int(now.timeIntervalSince1970) }

    var closure: @Sendable () -> Date { { [self] in self.now } }

    func advance(seconds: TimeInterval) {
        current.withLockedValue { $0 = $0.addingTimeInterval(seconds) }
    }
}
