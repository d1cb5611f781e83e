import NIOConcurrencyHelpers

/// The refresh tokens this process is rotating on the fast path right now, so that a pile of
/// requests for one token (a client's retries, or its tabs, refreshing at once) costs one
/// signature instead of one each: the first request rotates; the others, whose unlocked read
/// saw the same live token, wait for it to finish and then read again, which finds the token
/// rotated and answers them with its sealed answer (`replayWithinGrace`), with no lock and no
/// signature. Only the waiting is per process: across replicas the rotation statement still lets
/// exactly one win, and the others fall back to the transactional path.
final class RefreshesInFlight: Sendable {
    private let waiting = NIOLockedValueBox<[[UInt8]: [CheckedContinuation<Void, Never>]]>([:])

    /// Runs `rotation` as the one in flight for `hash` and returns its result; nil, after the one
    /// in flight has finished, when another request was already rotating the same token.
    func leading<T: Sendable>(_ hash: [UInt8], _ rotation: () async throws -> T) async throws -> T? {
        let leads = waiting.withLockedValue { waiting -> Bool in
            guard waiting[hash] == nil else { return false }
            waiting[hash] = []
            return true
        }
        guard leads else {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let queued = waiting.withLockedValue { waiting -> Bool in
                    guard waiting[hash] != nil else { return false }
                    waiting[hash]?.append(continuation)
                    return true
                }
                if !queued { continuation.resume() }
            }
            return nil
        }
        defer {
            let released = waiting.withLockedValue { $0.removeValue(forKey: hash) ?? [] }
            for continuation in released { continuation.resume() }
        }
        return try await rotation()
    }
}
