import Foundation
import Logging
import Shared

/// `private_key_jwt` clients' key sets fetched from their `jwks_uri`, per process.
///
/// Bounded in every direction: at most `maxEntries` URIs (the oldest fetch is dropped first);
/// `Cache-Control: max-age` clamped to [5 min, 1 h], 5 min when absent; a failed fetch is not
/// retried for a minute; an unknown `kid` refetches at most once per `refetchInterval` per URI;
/// and every fetch takes one from the host's shared per-minute budget. Fetches follow the same
/// rules as metadata documents (`ClientMetadataFetcher.fetchJWKS`).
actor ClientJWKSCache {
    static let maxEntries = 1000
    static let minimumLifetime: TimeInterval = 300
    static let maximumLifetime: TimeInterval = 3600
    static let refetchInterval: TimeInterval = 30
    static let failureLifetime: TimeInterval = 60
    /// A stale set younger than this still verifies while its host cannot be reached.
    static let staleFallback: TimeInterval = 24 * 3600

    private struct Entry {
        var keys: [JWSPublicKey]
        var fetchedAt: Date
        var freshUntil: Date
        var lastAttempt: Date
        var failure: ClientMetadataDocumentError?
    }

    private let fetcher: ClientMetadataFetcher
    private let budget: OutboundFetchBudget
    private let logger: Logger
    private var entries: [String: Entry] = [:]

    init(fetcher: ClientMetadataFetcher, budget: OutboundFetchBudget, logger: Logger) {
        self.fetcher = fetcher
        self.budget = budget
        self.logger = logger
    }

    /// The keys published at `uri`. `refresh` asks for a refetch because no cached key matched
    /// (a rotation); it is honoured at most once per `refetchInterval`.
    func keys(at uri: String, now: Date, refresh: Bool = false) async throws(ClientMetadataDocumentError) -> [JWSPublicKey] {
        if let entry = entries[uri] {
            let mayRefetch = now.timeIntervalSince(entry.lastAttempt) >= Self.refetchInterval
            if entry.failure == nil, entry.freshUntil > now, !(refresh && mayRefetch) { return entry.keys }
            if let failure = entry.failure, now.timeIntervalSince(entry.lastAttempt) < Self.failureLifetime { throw failure }
            if !mayRefetch, !entry.keys.isEmpty { return entry.keys }
        }
        return try await fetch(uri, now: now)
    }

    private func fetch(_ uri: String, now: Date) async throws(ClientMetadataDocumentError) -> [JWSPublicKey] {
        let previous = entries[uri]
        store(uri, Entry(keys: previous?.keys ?? [], fetchedAt: previous?.fetchedAt ?? .distantPast,
                         freshUntil: previous?.freshUntil ?? .distantPast, lastAttempt: now, failure: nil))
        do throws(ClientMetadataDocumentError) {
            if let host = OutboundFetchBudget.key(of: uri) {
                let granted = (try? await budget.reserve(host: host, now: now)) ?? false
                guard granted else { throw ClientMetadataDocumentError("too many fetches from \(host) in the last minute", transient: true) }
            }
            let fetched = try await fetcher.fetchJWKS(uri)
            guard let set = try? JSONDecoder().decode(JWKS.self, from: Data(fetched.body)) else {
                throw ClientMetadataDocumentError("the JWKS at jwks_uri is not a JWK Set")
            }
            let keys = ClientKeyMetadata.usableKeys(set)
            guard !keys.isEmpty else { throw ClientMetadataDocumentError("the JWKS at jwks_uri has no usable signing key") }
            let lifetime = min(max(TimeInterval(fetched.maxAge ?? 0), Self.minimumLifetime), Self.maximumLifetime)
            store(uri, Entry(keys: keys, fetchedAt: now, freshUntil: now.addingTimeInterval(lifetime), lastAttempt: now, failure: nil))
            return keys
        } catch {
            if error.transient, let previous, !previous.keys.isEmpty, now.timeIntervalSince(previous.fetchedAt) < Self.staleFallback {
                logger.warning("client JWKS could not be refreshed; using the cached keys",
                               metadata: ["jwks_uri": "\(uri)", "reason": "\(error.reason)"])
                return previous.keys
            }
            store(uri, Entry(keys: [], fetchedAt: now, freshUntil: now, lastAttempt: now, failure: error))
            throw error
        }
    }

    private func store(_ uri: String, _ entry: Entry) {
        if entries[uri] == nil, entries.count >= Self.maxEntries,
           let oldest = entries.min(by: { $0.value.lastAttempt < $1.value.lastAttempt }) {
            entries[oldest.key] = nil
        }
        entries[uri] = entry
    }
}
