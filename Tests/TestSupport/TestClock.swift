import Foundation
import Shared

/// A wall clock that moves only when a test says so: codes, sessions, tokens and rate limits
/// expire by `advance(seconds:)`, never by sleeping. Starts at the current whole second.
public final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    public init(_ start: Date = Date(timeIntervalSince1970: Double(Int(Date().timeIntervalSince1970)))) {
        current = start
    }

    public var now: Date { lock.withLock { current } }
    public var seconds: Int { Int(now.timeIntervalSince1970) }

    /// The servers' injected clock, reading this one.
    public var clock: Clock { Clock { [self] in self.now } }

    public func advance(seconds: TimeInterval) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }
}
