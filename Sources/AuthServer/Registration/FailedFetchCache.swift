import Foundation
import NIOConcurrencyHelpers
import Shared

/// Metadata-document URLs whose last fetch failed, remembered for a minute so that a client_id
/// that does not work is not fetched again on every request (an attacker's random URLs at
/// `/token` would otherwise each cost a fetch). Kept per process and bounded: the shared,
/// per-host limit (`OutboundFetchBudget`) bounds what all replicas together fetch.
///
/// This is not caching an error response as a document (draft §4.4 forbids that): nothing is
/// served from here but the refusal, and only for `ttl`.
final class FailedFetchCache: Sendable {
    static let ttl: TimeInterval = 60
    static let maxEntries = 10_000

    private struct Failure {
        let error: ClientMetadataDocumentError
        let until: Date
    }

    private let entries = NIOLockedValueBox<[String: Failure]>([:])

    /// The failure recorded for `url`, while it is younger than `ttl`.
    func failure(for url: String, now: Date) -> ClientMetadataDocumentError? {
        entries.withLockedValue { entries in
            guard let failure = entries[url] else { return nil }
            guard failure.until > now else {
                entries[url] = nil
                return nil
            }
            return failure.error
        }
    }

    func record(_ error: ClientMetadataDocumentError, for url: String, now: Date) {
        entries.withLockedValue { entries in
            if entries.count >= Self.maxEntries {
                entries = entries.filter { $0.value.until > now }
                // Still full of live entries: drop the one that expires first.
                if entries.count >= Self.maxEntries, let oldest = entries.min(by: { $0.value.until < $1.value.until }) {
                    entries[oldest.key] = nil
                }
            }
            entries[url] = Failure(error: error, until: now.addingTimeInterval(Self.ttl))
        }
    }

    func forget(_ url: String) {
        _ = entries.withLockedValue { $0.removeValue(forKey: url) }
    }
}
