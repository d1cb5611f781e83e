import Foundation
import TestSupport
@testable import AuthServer

extension TestClock {
    /// The authorization-server tests' starting point: a few seconds ahead of real time, so that
    /// rows the database stamps with its own `now()` (audit events, keys) are never in the test's future.
    static func aheadOfNow() -> TestClock { TestClock(Date().addingTimeInterval(5)) }
}
