import Foundation
import Logging
import Metrics
import Shared

/// The authorization server's public keys by `kid`, in one actor so refreshes never race.
///
/// - Fresh for the `max-age` the AS sent; after that the old keys keep working while a refresh runs
///   in the background (stale-while-revalidate), so an AS outage does not stop the RS.
/// - An unknown `kid` triggers a refetch (key rotation), but at most one fetch per
///   `minimumFetchInterval` in total, so a flood of tokens with made-up `kid`s cannot turn into a
///   flood of requests to the AS.
/// - Concurrent callers share one in-flight fetch.
actor JWKSCache {
    private let fetcher: JWKSFetcher
    private let logger: Logger
    private let clock: Clock
    private let minimumFetchInterval: TimeInterval
    private var jwksURI: String?
    private var keys: [String: RSAKey] = [:]
    private var freshUntil: Date?
    private var lastFetchAttempt: Date?
    private var inflight: Task<Void, Never>?
    private let fetchSuccesses = Counter(label: "gatehouse_rs_jwks_fetches_total", dimensions: [("result", "success")])
    private let fetchFailures = Counter(label: "gatehouse_rs_jwks_fetches_total", dimensions: [("result", "failure")])

    init(fetcher: JWKSFetcher, jwksURI: String?, logger: Logger, clock: Clock,
         minimumFetchInterval: TimeInterval = 10) {
        self.fetcher = fetcher
        self.jwksURI = jwksURI
        self.logger = logger
        self.clock = clock
        self.minimumFetchInterval = minimumFetchInterval
    }

    /// The key for `kid`, refetching the JWKS if it is unknown and the rate limit allows.
    func key(for kid: String) async throws(JWTError) -> RSAKey {
        if let key = keys[kid] {
            if let freshUntil, clock.now() >= freshUntil, mayFetch { Task { await self.refresh() } }
            return key
        }
        await refresh()
        guard let key = keys[kid] else { throw .unknownKeyID(kid) }
        return key
    }

    /// For readiness: true when keys are loaded, or a (rate-limited) fetch now succeeds.
    func isLoadedOrFetchable() async -> Bool {
        if !keys.isEmpty { return true }
        await refresh()
        return !keys.isEmpty
    }

    private var mayFetch: Bool {
        guard let lastFetchAttempt else { return true }
        return clock.now().timeIntervalSince(lastFetchAttempt) >= minimumFetchInterval
    }

    /// Joins the in-flight fetch, or starts one if the rate limit allows; otherwise does nothing.
    private func refresh() async {
        if let inflight {
            await inflight.value
            return
        }
        guard mayFetch else { return }
        lastFetchAttempt = clock.now()
        let task = Task { await self.fetchAndStore() }
        inflight = task
        await task.value
        inflight = nil
    }

    private func fetchAndStore() async {
        do {
            let result = try await fetcher.fetch(jwksURI: jwksURI)
            jwksURI = result.jwksURI
            if result.keys.isEmpty {
                logger.warning("the authorization server's JWKS has no usable RS256 keys; keeping the previous keys")
            } else {
                keys = result.keys
            }
            freshUntil = clock.now().addingTimeInterval(result.maxAge)
            fetchSuccesses.increment()
            logger.debug("fetched JWKS", metadata: ["kids": "\(result.keys.keys.sorted())", "max_age": "\(result.maxAge)"])
        } catch {
            fetchFailures.increment()
            logger.warning("JWKS fetch failed; still using cached keys",
                           metadata: ["error": "\(error)", "cached_keys": "\(keys.count)"])
        }
    }
}
