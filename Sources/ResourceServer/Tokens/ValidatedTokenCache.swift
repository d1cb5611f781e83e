import NIOConcurrencyHelpers
import Shared

/// Tokens that already passed signature and claim checks, keyed by the SHA-256 of the token text,
/// until they expire: the hot path then does one hash and one dictionary lookup instead of an RSA
/// verification. Revocation is *not* cached; the validator checks it on every request, for the
/// token's `jti` and for the `kid` of the key that signed it (kept here for that reason).
final class ValidatedTokenCache: Sendable {
    struct Entry: Sendable {
        var identity: VerifiedIdentity
        /// The `kid` of the signing key, checked against retired keys on every hit.
        var keyID: String
        /// `exp` in seconds since 1970.
        var expiresAt: Int
    }

    private let entries = NIOLockedValueBox<[[UInt8]: Entry]>([:])
    let capacity: Int

    init(capacity: Int = 50_000) {
        self.capacity = capacity
    }

    static func key(for token: String) -> [UInt8] { Digest.sha256(token) }

    /// The entry if the token is cached and `exp + leeway` has not passed; expired entries are removed.
    func entry(forKey key: [UInt8], now: Int, leeway: Int) -> Entry? {
        entries.withLockedValue { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expiresAt > now - leeway else {
                entries[key] = nil
                return nil
            }
            return entry
        }
    }

    func insert(_ entry: Entry, forKey key: [UInt8], now: Int, leeway: Int) {
        entries.withLockedValue { entries in
            if entries.count >= capacity {
                entries = entries.filter { $0.value.expiresAt > now - leeway }
                // Still full of live tokens: start over rather than grow without bound.
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = entry
        }
    }

    var count: Int { entries.withLockedValue { $0.count } }
}
