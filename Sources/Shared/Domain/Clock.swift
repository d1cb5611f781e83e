import Foundation

/// The current time, injected so that tests can move it. Domain code in both services takes `now`
/// from here and never calls `Date()` itself. (`Shared.Clock`: it shadows the standard library's
/// `Clock` protocol in modules that import Shared, which is what they mean by it.)
public struct Clock: Sendable {
    public let now: @Sendable () -> Date
    public init(now: @escaping @Sendable () -> Date) { self.now = now }
    public static let system = Clock { Date() }

    public var seconds: Int { Int(now().timeIntervalSince1970) }
}
