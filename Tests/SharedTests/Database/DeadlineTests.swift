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

/// The one clock behind every deadline: it fires what is due and forgets what was cancelled.
@Suite struct DeadlineWatchdogTests {
    final class Fired: @unchecked Sendable {
        private let lock = NSLock()
        private var names: [String] = []
        func record(_ name: String) { lock.lock(); names.append(name); lock.unlock() }
        var all: [String] { lock.lock(); defer { lock.unlock() }; return names }
    }

    @Test(.timeLimit(.minutes(1)))
    func firesWhatIsDueAndNotWhatWasCancelled() async throws {
        let watchdog = DeadlineWatchdog(tick: .milliseconds(10))
        let fired = Fired()
        _ = watchdog.register(after: .milliseconds(20)) { fired.record("due") }
        let cancelled = watchdog.register(after: .milliseconds(20)) { fired.record("cancelled") }
        _ = watchdog.register(after: .seconds(600)) { fired.record("later") }
        watchdog.cancel(cancelled)
        #expect(watchdog.pendingCount == 2)
        while fired.all.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
        try await Task.sleep(for: .milliseconds(50))
        #expect(fired.all == ["due"])
        #expect(watchdog.pendingCount == 1)
    }

    @Test func deadlinesMetOrCancelledLeaveNothingPending() async throws {
        for value in 0..<100 {
            #expect(try await withDeadline(.seconds(30)) { value } == value)
        }
        // Other suites' calls may be pending in the shared watchdog; this suite's are not.
        let watchdog = DeadlineWatchdog(tick: .milliseconds(10))
        for _ in 0..<100 { watchdog.cancel(watchdog.register(after: .seconds(30)) {}) }
        #expect(watchdog.pendingCount == 0)
    }
}
