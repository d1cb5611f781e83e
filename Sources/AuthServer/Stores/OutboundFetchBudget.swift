import Foundation
import PostgresNIO
import Shared

/// How many metadata-document and JWKS fetches Gatehouse makes to one host (and port) per minute, counted in
/// the database so the limit holds across every replica: random client_id URLs at `/token` must
/// not turn Gatehouse into a client that fetches an attacker's (or a victim's) URLs without limit.
struct OutboundFetchBudget: Sendable {
    static let window: TimeInterval = 60

    let database: Database
    /// GATEHOUSE_CIMD_FETCHES_PER_HOST_PER_MINUTE
    let limit: Int

    /// Takes one fetch from `host`'s budget for the current window; false when it is spent. One
    /// upsert, so concurrent requests on any replica count exactly.
    func reserve(host: String, now: Date) async throws -> Bool {
        let windowStart = now.addingTimeInterval(-Self.window)
        let rows = try await database.query("""
            INSERT INTO outbound_fetch_budgets AS b (host, window_started_at, fetches) VALUES (\(host), \(now), 1)
            ON CONFLICT (host) DO UPDATE SET
                fetches = CASE WHEN b.window_started_at <= \(windowStart) THEN 1 ELSE b.fetches + 1 END,
                window_started_at = CASE WHEN b.window_started_at <= \(windowStart) THEN \(now) ELSE b.window_started_at END
            RETURNING fetches
            """)
        let fetches = try rows.first?.decode(Int.self) ?? 1
        return fetches <= limit
    }

    /// What the budget is kept per: the URL's host, lower-cased, with its port when one is given
    /// (`example.com`, `127.0.0.1:8443`).
    static func key(of url: String) -> String? {
        guard let parts = URLComponents(string: url), let host = parts.host, !host.isEmpty else { return nil }
        return parts.port.map { "\(host.lowercased()):\($0)" } ?? host.lowercased()
    }

    /// The host (without port, lower-cased) a URL is fetched from, or nil when it has none.
    static func host(of url: String) -> String? {
        guard let host = URLComponents(string: url)?.host, !host.isEmpty else { return nil }
        return host.lowercased()
    }
}
