import Foundation
import Logging
import Shared

/// The one way the flows find a client by its `client_id`: a registered client comes from
/// `ClientStore`; an https URL names a client ID metadata document, served from the cached row
/// while it is fresh and fetched again when it is stale.
///
/// draft-ietf-oauth-client-id-metadata-document-00 §4.4: "The authorization server SHOULD respect
/// HTTP cache headers [RFC9111] when caching client metadata, but MAY define its own upper and/or
/// lower bounds on an acceptable cache lifetime as well. The authorization server MUST NOT cache
/// error responses. The authorization server also MUST NOT cache documents which are invalid or
/// malformed." Gatehouse clamps `max-age` to [5 min, 24 h] and uses 1 h when none is given.
///
/// What a URL client_id may cost is bounded: the operator's block list is consulted before
/// anything else, a URL whose fetch failed is refused without a new fetch for a minute
/// (`FailedFetchCache`), and each host gets a number of fetches per minute shared by all
/// replicas (`OutboundFetchBudget`).
struct ClientResolver: Sendable {
    static let minimumLifetime = 5 * 60
    static let maximumLifetime = 24 * 3600
    static let defaultLifetime = 3600
    /// A stale copy younger than this is still used when its host cannot be reached.
    static let staleFallback: TimeInterval = 24 * 3600
    /// After a failed refresh, how long the stale copy is used before the next attempt.
    static let retryDelay: TimeInterval = 60

    let clients: ClientStore
    let fetcher: ClientMetadataFetcher
    let failures: FailedFetchCache
    let budget: OutboundFetchBudget
    /// GATEHOUSE_CLIENT_METADATA_DOCUMENTS
    let metadataDocumentsEnabled: Bool
    let clock: Clock
    let logger: Logger
    /// Every scope of every resource we protect: what a document's `scope` is narrowed to.
    var grantableScopes: [String] = ScopeCatalog.grantableNames

    /// The client, or nil when there is none. A metadata document that cannot be fetched or is
    /// invalid throws `OAuthError` invalid_client (401), saying why: the authorize endpoint shows
    /// it on its own page, the token endpoint returns it.
    func find(_ clientID: String) async throws -> Client? {
        // No client_id of ours or any valid URL holds control characters; PostgreSQL refuses NUL.
        guard !ClientRegistrationRequest.containsControlCharacter(clientID) else { return nil }
        guard ClientMetadataDocument.isURLClientID(clientID) else {
            return try await clients.find(clientID)
        }
        guard metadataDocumentsEnabled else { return nil }
        // Blocked by the operator: refused before the cache or the network is consulted.
        if try await clients.isBlocked(clientID) {
            logger.info("blocked client refused", metadata: ["client_id": "\(clientID)"])
            throw OAuthError.invalidClient("this client is blocked by the operator of this server")
        }
        let now = clock.now()
        // A copy an operator deleted is not used: its next use is a fresh fetch.
        let cached = try await clients.cachedDocument(clientID).flatMap { $0.deleted ? nil : $0 }
        if let cached, cached.expiresAt > now { return cached.client }
        if let failure = failures.failure(for: clientID, now: now) { throw failure.oauthError }
        let document: ClientMetadataDocument
        let lifetime: Int
        do {
            _ = try ClientMetadataDocument.validateURL(clientID, allowLoopbackHTTP: fetcher.allowLoopback)
            try await reserveFetch(clientID, now: now)
            let fetched = try await fetcher.fetch(clientID)
            document = try ClientMetadataDocument(clientID: clientID, body: fetched.body, now: now,
                                                  grantableScopes: grantableScopes)
            lifetime = Self.lifetime(maxAge: fetched.maxAge)
        } catch {
            if error.transient, let cached, now.timeIntervalSince(cached.fetchedAt) < Self.staleFallback {
                logger.warning("client metadata document could not be refreshed; using the cached copy", metadata: [
                    "client_id": "\(clientID)", "reason": "\(error.reason)",
                    "fetched_at": "\(cached.fetchedAt)",
                ])
                try await clients.postponeRefresh(clientID, until: now.addingTimeInterval(Self.retryDelay))
                return cached.client
            }
            logger.info("client metadata document refused", metadata: ["client_id": "\(clientID)", "reason": "\(error.reason)"])
            if !error.budgetExhausted { failures.record(error, for: clientID, now: now) }
            throw error.oauthError
        }
        return try await clients.upsert(document, fetchedAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
    }

    /// Takes one fetch from the host's per-minute budget, or fails (transiently: a cached copy
    /// may still serve) when it is spent.
    func reserveFetch(_ url: String, now: Date) async throws(ClientMetadataDocumentError) {
        guard let host = OutboundFetchBudget.key(of: url) else { return }
        let granted: Bool
        do { granted = try await budget.reserve(host: host, now: now) } catch {
            throw .init("the fetch limit could not be checked", transient: true)
        }
        guard granted else {
            throw .init("too many fetches from \(host) in the last minute; try again later", transient: true, budgetExhausted: true)
        }
    }

    static func lifetime(maxAge: Int?) -> Int {
        min(max(maxAge ?? defaultLifetime, minimumLifetime), maximumLifetime)
    }
}
