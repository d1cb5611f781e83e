import Foundation
@testable import Shared
import Testing

/// `withDeadline` answers at the deadline even when its body ignores cancellation. During a
/// PostgreSQL restart one pool call never returned; wrapped in a task group (which waits for its
/// children) it held its request, and the graceful shutdown, forever.
@Suite struct DeadlineTests {
    /// A wait that only `open()` ends: cancellation does not.
    final class Gate: @unchecked Sendable {
        private let lock = NSLock()
        private var waiter: CheckedContinuation<Void, Never>?
        private var opened = false

        func wait() async {
            await withCheckedContinuation { continuation in
                lock.lock()
                if opened { lock.unlock(); continuation.resume(); return }
                waiter = continuation
                lock.unlock()
            }
        }

        func open() {
            lock.lock()
            opened = true
            let waiter = self.waiter
            self.waiter = nil
            lock.unlock()
            waiter?.resume()
        }
    }

    @Test(.timeLimit(.minutes(1)))
    func answersAtTheDeadlineWhenTheBodyIgnoresCancellation() async throws {
        let gate = Gate()
        // Were the body awaited, this would never return: the gate opens only afterwards.
        await #expect(throws: DatabaseTimeoutError.self) {
            try await withDeadline(.milliseconds(50)) { await gate.wait(); return 1 }
        }
        gate.open()
    }

    @Test func returnsTheBodysResultAndError() async throws {
        #expect(try await withDeadline(.seconds(30)) { 42 } == 42)
        struct Failure: Error {}
        await #expect(throws: Failure.self) { try await withDeadline(.seconds(30)) { () async throws -> Int in throw Failure() } }
    }

    @Test(.timeLimit(.minutes(1)))
    func theCallersCancellationEndsTheWait() async throws {
        let gate = Gate()
        let call = Task { try await withDeadline(.seconds(600)) { await gate.wait(); return 1 } }
        call.cancel()
        await #expect(throws: CancellationError.self) { try await call.value }
        gate.open()
    }
}
