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
    /// GATEHOUSE_CLIENT_METADATA_DOCUMENTS
    let metadataDocumentsEnabled: Bool
    let clock: Clock
    let logger: Logger

    /// The client, or nil when there is none. A metadata document that cannot be fetched or is
    /// invalid throws `OAuthError` invalid_client (401), saying why: the authorize endpoint shows
    /// it on its own page, the token endpoint returns it.
    func find(_ clientID: String) async throws -> Client? {
        guard ClientMetadataDocument.isURLClientID(clientID) else {
            return try await clients.find(clientID)
        }
        guard metadataDocumentsEnabled else { return nil }
        let now = clock.now()
        // A copy an operator deleted is not used: its next use is a fresh fetch.
        let cached = try await clients.cachedDocument(clientID).flatMap { $0.deleted ? nil : $0 }
        if let cached, cached.expiresAt > now { return cached.client }
        let document: ClientMetadataDocument
        let lifetime: Int
        do {
            let fetched = try await fetcher.fetch(clientID)
            document = try ClientMetadataDocument(clientID: clientID, body: fetched.body, now: now)
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
            throw error.oauthError
        }
        return try await clients.upsert(document, fetchedAt: now, expiresAt: now.addingTimeInterval(TimeInterval(lifetime)))
    }

    static func lifetime(maxAge: Int?) -> Int {
        min(max(maxAge ?? defaultLifetime, minimumLifetime), maximumLifetime)
    }
}
