import NIOConcurrencyHelpers
import Shared

/// Tokens that already passed signature and claim checks, keyed by the SHA-256 of the token text:
/// the hot path then does one hash and one dictionary lookup instead of an RSA verification.
/// Revocation is *not* cached; the validator checks it on every request, for the token's `jti` and
/// for the `kid` of the key that signed it (kept here for that reason).
///
/// An entry leaves when its token expires (`exp` plus the leeway) or when the token has not been
/// presented for `idleLifetime` seconds, whichever comes first: `sweep(now:leeway:)`, run on a timer
/// by `ValidatedTokenCacheSweeper`. The idle bound is what keeps memory flat: a client uses a token
/// for a while and then moves on to its refreshed successor, and the old one would otherwise stay
/// here for the rest of its lifetime (an hour by default; the 10-minute soak grew the ResourceServer
/// by 10 MiB, about 800 bytes for each of 13,000 tokens). A token presented again after it was
/// dropped costs one signature verification and is cached again. `capacity` stays as the backstop
/// for a burst of live tokens between two sweeps.
final class ValidatedTokenCache: Sendable {
    struct Entry: Sendable {
        var identity: VerifiedIdentity
        /// The `kid` of the signing key, checked against retired keys on every hit.
        var keyID: String
        /// `exp` in seconds since 1970.
        var expiresAt: Int
    }

    /// SHA-256 of the token, as four words: hashed and compared without a heap allocation.
    struct Key: Hashable, Sendable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        static func == (a: Key, b: Key) -> Bool { a.words == b.words }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }
    }

    private struct Slot {
        var entry: Entry
        /// When the token was last presented (seconds since 1970), for the idle bound.
        var lastUsed: Int
    }

    private let slots = NIOLockedValueBox<[Key: Slot]>([:])
    let capacity: Int
    /// Seconds an entry is kept after its token was last presented.
    let idleLifetime: Int

    init(capacity: Int = 50_000, idleLifetime: Int = 60) {
        self.capacity = capacity
        self.idleLifetime = idleLifetime
    }

    static func key(for token: String) -> Key {
        Key(words: Digest.sha256Words(token))
    }

    /// The entry if the token is cached and `exp + leeway` has not passed; expired entries are removed.
    func entry(forKey key: Key, now: Int, leeway: Int) -> Entry? {
        slots.withLockedValue { slots in
            guard let index = slots.index(forKey: key) else { return nil }
            guard slots.values[index].entry.expiresAt > now - leeway else {
                slots.remove(at: index)
                return nil
            }
            if slots.values[index].lastUsed != now { slots.values[index].lastUsed = now }
            return slots.values[index].entry
        }
    }

    func insert(_ entry: Entry, forKey key: Key, now: Int, leeway: Int) {
        slots.withLockedValue { slots in
            if slots.count >= capacity {
                Self.removeStale(from: &slots, now: now, leeway: leeway, idleLifetime: idleLifetime)
                // Still full of live tokens: start over rather than grow without bound.
                if slots.count >= capacity { slots.removeAll(keepingCapacity: true) }
            }
            slots[key] = Slot(entry: entry, lastUsed: now)
        }
    }

    /// Drops entries whose token has expired or has not been presented for `idleLifetime` seconds;
    /// returns how many remain.
    @discardableResult
    func sweep(now: Int, leeway: Int) -> Int {
        slots.withLockedValue { slots in
            Self.removeStale(from: &slots, now: now, leeway: leeway, idleLifetime: idleLifetime)
            return slots.count
        }
    }

    var count: Int { slots.withLockedValue { $0.count } }

    private static func removeStale(from slots: inout [Key: Slot], now: Int, leeway: Int, idleLifetime: Int) {
        let isStale = { (slot: Slot) in slot.entry.expiresAt <= now - leeway || now - slot.lastUsed >= idleLifetime }
        guard slots.values.contains(where: isStale) else { return }
        // A new dictionary rather than removals in place, so the storage shrinks with the cache.
        slots = slots.filter { !isStale($0.value) }
    }
}
