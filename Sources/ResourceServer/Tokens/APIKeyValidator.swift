import Foundation
import Logging
import NIOConcurrencyHelpers
import Shared

/// Checks an API key (`gh_pat_…`, issue 13) where an access token would be checked, with the same
/// outcome: a `VerifiedIdentity` whose scopes the endpoints check as for any token (403
/// insufficient_scope), or a `TokenRejection` (401 invalid_token).
///
/// The order of the checks: the key is well-formed and known (looked up by the SHA-256 of its random
/// part, so the database never sees the key), its resource is this one (a key is never accepted at
/// another resource, like an access token's `aud`), it has not expired (the injected clock), its user
/// is not disabled, and it is not revoked. Revocation is asked of the `RevocationFeed` on every
/// request, cache hit or not, because `tokens revoke` (and `users disable`) lists the key in
/// `revoked_access_tokens` as `pat-<id>`: refused within a second on every replica, and a feed that
/// cannot vouch for being current fails closed (503), as for access tokens.
/// The lookup's own `revoked_at` (written in the same transaction) backs the feed up: even a
/// revocation the feed's gap bookkeeping gave up on is refused once the cached lookup is renewed.
///
/// Lookups are cached for `cacheLifetime` (a few seconds) so a busy client costs one query per key
/// per replica per few seconds, not one per call. `last_used_at` is stamped at most once a
/// minute per key and replica (and the UPDATE skips a row another replica stamped within the minute).
struct APIKeyValidator: Sendable {
    let lookup: APIKeyLookup
    let revocations: RevocationFeed
    let cache: APIKeyCache
    let clock: Clock
    let logger: Logger
    static let touchInterval = 60

    /// Throws `TokenRejection` (answer 401) or `RevocationStatusUnavailable` (answer 503).
    func validate(_ key: String, resource: String) async throws -> VerifiedIdentity {
        guard let hash = APIKeySecret.hash(key) else { throw TokenRejection.apiKey(.unknown) }
        let row: APIKeyLookup.Row?
        if let cached = cache.entry(for: hash) {
            row = cached
        } else {
            do { row = try await lookup.find(hash: hash) } catch {
                throw RevocationStatusUnavailable(underlying: error)
            }
            cache.insert(row, for: hash)
        }
        guard let row else { throw TokenRejection.apiKey(.unknown) }
        guard row.resource == resource else { throw TokenRejection.apiKey(.wrongResource) }
        let now = clock.now()
        guard row.expiresAt > now else { throw TokenRejection.apiKey(.expired) }
        guard !row.userDisabled else { throw TokenRejection.apiKey(.userDisabled) }
        let tokenID = APIKeySecret.revocationID(keyID: row.id.uuidString.lowercased())
        guard !row.revoked else { throw TokenRejection.revoked }
        let revoked: Bool
        do { revoked = try await revocations.isRevoked(tokenID) } catch {
            throw RevocationStatusUnavailable(underlying: error)
        }
        guard !revoked else { throw TokenRejection.revoked }
        if cache.shouldTouch(row.id, now: Int(now.timeIntervalSince1970), interval: Self.touchInterval) {
            do { try await lookup.touch(id: row.id, now: now, interval: Self.touchInterval) } catch {
                logger.warning("could not record an API key's last use", metadata: [
                    "api_key": "\(row.id.uuidString.lowercased())", "error": "\(String(reflecting: error))"])
            }
        }
        return VerifiedIdentity(subject: row.userID.uuidString.lowercased(), clientID: row.clientLabel,
                                scopes: ScopeSet(row.scope), tokenID: tokenID)
    }
}

/// Looked-up keys (and unknown ones) by hash, for a few seconds, and when each was last stamped as used.
final class APIKeyCache: Sendable {
    private struct Entry { var row: APIKeyLookup.Row?; var fetchedAt: ContinuousClock.Instant }
    private let entries = NIOLockedValueBox<[[UInt8]: Entry]>([:])
    private let touched = NIOLockedValueBox<[UUID: Int]>([:])
    let lifetime: Duration
    let capacity: Int

    init(lifetime: Duration = .seconds(5), capacity: Int = 10_000) {
        self.lifetime = lifetime
        self.capacity = capacity
    }

    /// `.some(nil)` is a cached "no such key".
    func entry(for hash: [UInt8]) -> APIKeyLookup.Row?? {
        entries.withLockedValue { entries in
            guard let entry = entries[hash] else { return nil }
            guard ContinuousClock.now - entry.fetchedAt < lifetime else {
                entries[hash] = nil
                return nil
            }
            return .some(entry.row)
        }
    }

    func insert(_ row: APIKeyLookup.Row?, for hash: [UInt8]) {
        entries.withLockedValue { entries in
            let now = ContinuousClock.now
            if entries.count >= capacity {
                entries = entries.filter { now - $0.value.fetchedAt < lifetime }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[hash] = Entry(row: row, fetchedAt: now)
        }
    }

    /// True (and remembered) when `id` was not stamped in the last `interval` seconds.
    func shouldTouch(_ id: UUID, now: Int, interval: Int) -> Bool {
        touched.withLockedValue { touched in
            if let last = touched[id], now - last < interval { return false }
            if touched.count >= capacity { touched.removeAll(keepingCapacity: true) }
            touched[id] = now
            return true
        }
    }
}
