import Foundation

/// The current time, injected so that tests can move it. Domain code takes `now` from here and
/// never calls `Date()` itself.
struct Clock: Sendable {
    let now: @Sendable () -> Date
    static let system = Clock { Date() }

    var seconds: Int { Int(now().timeIntervalSince1970) }
}
