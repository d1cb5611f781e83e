import Foundation
import Logging
import NIOConcurrencyHelpers
import Shared

/// Stamps `clients.last_used_at` after a successful `/token` request, which reaping reads
/// (`GATEHOUSE_CLIENT_REAP_DAYS`). A client is stamped at most once an hour per process, so
/// the token endpoint pays one small write per client and hour, not one per request. A failed
/// stamp is logged and never fails the token response: the next hour stamps again, and
/// reaping also looks at the client's tokens.
final class ClientUsageRecorder: Sendable {
    static let interval: TimeInterval = 3600
    static let maxEntries = 10_000

    private let store: ClientStore
    private let clock: Clock
    private let logger: Logger
    /// When each client was last stamped by this process.
    private let stamped = NIOLockedValueBox<[String: Date]>([:])

    init(store: ClientStore, clock: Clock, logger: Logger) {
        self.store = store
        self.clock = clock
        self.logger = logger
    }

    func recordUse(of clientID: String) async {
        let now = clock.now()
        let due = stamped.withLockedValue { stamped -> Bool in
            if let last = stamped[clientID], now.timeIntervalSince(last) < Self.interval { return false }
            if stamped.count >= Self.maxEntries { stamped = stamped.filter { now.timeIntervalSince($0.value) < Self.interval } }
            if stamped.count >= Self.maxEntries { stamped.removeAll() }
            stamped[clientID] = now
            return true
        }
        guard due else { return }
        do {
            try await store.markUsed(clientID)
        } catch {
            stamped.withLockedValue { $0[clientID] = nil }
            logger.warning("could not record client use", metadata: ["client_id": "\(clientID)", "error": "\(String(reflecting: error))"])
        }
    }
}
