import Foundation

/// One clock for every `withDeadline` in the process: a table of pending deadlines that a
/// single task scans every `tick`, instead of a timer task per call.
///
/// Every database call runs under a deadline (`Database.timeout`), and the refresh grant makes
/// three of them. A `Task.sleep` per call cost a task, a libdispatch timer armed and disarmed on
/// its manager thread, and the thread wake-ups between them: `perf` put `Task._sleep` and the
/// dispatch manager at 4-5 % each of the AuthServer's samples under refresh load
/// (docs/benchmarks.md, "Run I, and one clock for every deadline"). Registering here costs a lock and a dictionary
/// insert. The price is precision: a deadline fires up to one tick late (50 ms, against
/// deadlines of seconds). The scanning task ends when nothing is pending, so an idle process
/// (or a test) keeps no task alive.
final class DeadlineWatchdog: @unchecked Sendable {
    static let shared = DeadlineWatchdog(tick: .milliseconds(50))

    struct Registration: Sendable {
        fileprivate let id: UInt64
    }

    private struct Pending {
        let deadline: ContinuousClock.Instant
        let expire: @Sendable () -> Void
    }

    private let tick: Duration
    private let lock = NSLock()
    private var pending: [UInt64: Pending] = [:]
    private var nextID: UInt64 = 0
    private var scanning = false

    init(tick: Duration) {
        self.tick = tick
    }

    /// Calls `expire` once `limit` has passed, unless `cancel` came first.
    func register(after limit: Duration, expire: @escaping @Sendable () -> Void) -> Registration {
        let deadline = ContinuousClock.now.advanced(by: limit)
        lock.lock()
        nextID &+= 1
        let id = nextID
        pending[id] = Pending(deadline: deadline, expire: expire)
        let startScanning = !scanning
        scanning = true
        lock.unlock()
        if startScanning {
            Task.detached { [self] in await scan() }
        }
        return Registration(id: id)
    }

    func cancel(_ registration: Registration) {
        lock.lock()
        pending[registration.id] = nil
        lock.unlock()
    }

    /// The number of deadlines not yet fired or cancelled (for tests).
    var pendingCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return pending.count
    }

    private func scan() async {
        while true {
            try? await Task.sleep(for: tick)
            let (expired, done) = takeExpired(at: ContinuousClock.now)
            for entry in expired { entry.expire() }
            if done { return }
        }
    }

    /// Removes and returns what is due; `done` (and no more scanning) when nothing is left.
    private func takeExpired(at now: ContinuousClock.Instant) -> (expired: [Pending], done: Bool) {
        lock.lock()
        defer { lock.unlock() }
        let expired = pending.filter { $0.value.deadline <= now }
        for id in expired.keys { pending[id] = nil }
        if pending.isEmpty { scanning = false }
        return (Array(expired.values), pending.isEmpty)
    }
}
