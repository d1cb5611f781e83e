import NIOConcurrencyHelpers
import Shared

/// Tokens that already passed signature and claim checks, keyed by the SHA-256 of the token text,
/// until they expire: the hot path then does one hash and one dictionary lookup instead of an RSA
/// verification. Revocation is *not* cached; the validator checks it on every request.
final class ValidatedTokenCache: Sendable {
    private struct Entry {
        var identity: VerifiedIdentity
        /// `exp` in seconds since 1970.
        var expiresAt: Int
    }

    private let entries = NIOLockedValueBox<[[UInt8]: Entry]>([:])
    let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    static func key(for token: String) -> [UInt8] { Digest.sha256(token) }

    /// The identity if the token is cached and `exp + leeway` has not passed; expired entries are removed.
    func identity(forKey key: [UInt8], now: Int, leeway: Int) -> VerifiedIdentity? {
        entries.withLockedValue { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expiresAt > now - leeway else {
                entries[key] = nil
                return nil
            }
            return entry.identity
        }
    }

    func insert(_ identity: VerifiedIdentity, expiresAt: Int, forKey key: [UInt8], now: Int, leeway: Int) {
        entries.withLockedValue { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expiresAt > now - leeway }
                // Still full of live tokens: start over rather than grow without bound.
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = Entry(identity: identity, expiresAt: expiresAt)
        }
    }

    var count: Int { entries.withLockedValue { $0.count } }
}
