import Foundation
import HTTPTypes
import Logging
import PostgresNIO
import Shared

/// One limit: at most `maximum` admissions per `window` seconds per key; 0 is off.
struct RateLimitRule: Sendable {
    enum Limit: String, Sendable { case registration, token, authorize }
    let limit: Limit
    let maximum: Int
    let window: TimeInterval

    var isOff: Bool { maximum <= 0 }

    /// Fixed windows aligned to the epoch, so every replica agrees on them without talking.
    func windowStart(at now: Date) -> Date {
        Date(timeIntervalSince1970: (now.timeIntervalSince1970 / window).rounded(.down) * window)
    }

    /// Whole seconds until the current window ends (at least 1): when a request is admitted again.
    func retryAfter(at now: Date) -> Int {
        max(1, Int((windowStart(at: now).timeIntervalSince1970 + window - now.timeIntervalSince1970).rounded(.up)))
    }
}

/// Counts admissions in PostgreSQL (`rate_limit_counters`, migration 12), so a limit holds across
/// every replica: one upsert per check, which either takes one unit of the window's budget and
/// says so, or returns nothing when the budget is spent (the row is then left as it is, so a flood
/// writes nothing). The first refusal of a window per key is the one the upsert still counts
/// (`count` becomes `maximum + 1`): that one is logged and audited, later ones only counted in
/// `gatehouse_rate_limited_total{limit}`.
///
/// The check runs where a request would otherwise succeed (see each caller): a refusal of any
/// other kind is terminal and is answered first, and a limited request has changed nothing.
struct RateLimiter: Sendable {
    let database: Database
    let metrics: AuthMetrics
    let audit: AuditLog
    let logger: Logger

    /// nil when admitted; else the 429 to answer. With `connection`, the upsert runs inside the
    /// caller's transaction (the token grants: one more statement, no extra round trip to a pool).
    func check(_ rule: RateLimitRule, key: String, now: Date, clientID: String? = nil, remoteAddress: String? = nil,
               connection: PostgresConnection? = nil) async throws -> OAuthError? {
        guard !rule.isOff else { return nil }
        let bucket = Self.bucket(rule, key: key)
        let query: PostgresQuery = """
            INSERT INTO rate_limit_counters AS c (bucket, window_start, count) VALUES (\(bucket), \(rule.windowStart(at: now)), 1)
            ON CONFLICT (bucket, window_start) DO UPDATE SET count = c.count + 1 WHERE c.count <= \(rule.maximum)
            RETURNING count
            """
        let count: Int? = try await StoreFailure.mapping("RateLimiter", "check") {
            if let connection {
                var count: Int?
                for try await row in try await connection.query(query, logger: connection.logger) { count = try row.decode(Int.self) }
                return count
            }
            return try await database.query(query).first?.decode(Int.self)
        }
        if let count, count <= rule.maximum { return nil }
        return try await refused(rule, key: key, firstInWindow: count != nil, now: now, clientID: clientID,
                                 remoteAddress: remoteAddress, connection: connection)
    }

    /// The counter row every check of `key` under `rule` shares.
    static func bucket(_ rule: RateLimitRule, key: String) -> String { "\(rule.limit.rawValue):\(key.prefix(512))" }

    /// The 429 for a check the counter refused, counted in the metrics; the window's first refusal
    /// for the key (`firstInWindow`, the one the upsert still counted) is also logged and audited.
    /// Shared with the refresh grant's fast path, whose one statement counts the unit itself
    /// (`TokenFamilyStore.rotateIfStillLive`).
    func refused(_ rule: RateLimitRule, key: String, firstInWindow: Bool, now: Date, clientID: String? = nil,
                 remoteAddress: String? = nil, connection: PostgresConnection? = nil) async throws -> OAuthError {
        let bucket = Self.bucket(rule, key: key)
        metrics.rateLimited(rule.limit).increment()
        let retryAfter = rule.retryAfter(at: now)
        if firstInWindow {
            logger.notice("rate limit reached", metadata: ["limit": "\(rule.limit.rawValue)", "key": "\(bucket)",
                                                           "retry_after": "\(retryAfter)"])
            let detail = ["limit": rule.limit.rawValue, "key": String(key.prefix(200)),
                          "maximum": String(rule.maximum), "window_seconds": String(Int(rule.window))]
            if let connection {
                // On the caller's connection: waiting for a second one from the pool while this
                // transaction holds the counter row could stall every request of the key.
                try await StoreFailure.mapping("RateLimiter", "audit") {
                    try await AuditLog.record(.rateLimited, outcome: .failure, clientID: clientID, remoteAddress: remoteAddress,
                                              detail: detail, connection: connection)
                }
            } else {
                await audit.record(.rateLimited, outcome: .failure, clientID: clientID, remoteAddress: remoteAddress,
                                   detail: detail)
            }
        }
        return .rateLimited(rule, retryAfter: retryAfter)
    }
}

extension OAuthError {
    /// 429 Too Many Requests (RFC 6585 §4) with `Retry-After`, and the JSON body every OAuth
    /// endpoint answers errors with. RFC 6749 defines no code for "slow down" at the token
    /// endpoint; `temporarily_unavailable` is the one it has for "currently unable to handle the
    /// request due to a temporary overloading" (§4.1.2.1), is what a client already treats as
    /// retryable, and — unlike `invalid_grant` or `invalid_client` — never makes it discard a
    /// grant or a registration that is still good. (`slow_down`, RFC 8628 §3.5, is the device
    /// flow's polling code and clients of the other grants do not know it.)
    static func rateLimited(_ rule: RateLimitRule, retryAfter: Int) -> OAuthError {
        let what = switch rule.limit {
        case .registration: "registrations from this network"
        case .token: "token requests for this client"
        case .authorize: "authorization requests for this client"
        }
        let per = rule.window >= 3600 ? "hour" : "minute"
        return OAuthError(.temporarilyUnavailable, status: .tooManyRequests,
                          "too many \(what) (at most \(rule.maximum) per \(per)); retry after \(retryAfter) seconds",
                          headers: [.retryAfter: String(retryAfter)])
    }
}

/// One limit as an endpoint or grant is handed it: the shared limiter and its rule.
struct RateLimitGate: Sendable {
    let limiter: RateLimiter
    let rule: RateLimitRule

    func check(key: String, now: Date, clientID: String? = nil, remoteAddress: String? = nil,
               connection: PostgresConnection? = nil) async throws -> OAuthError? {
        try await limiter.check(rule, key: key, now: now, clientID: clientID, remoteAddress: remoteAddress,
                                connection: connection)
    }

    /// The 429 for a unit the refresh grant's one statement was refused (see `RateLimiter.refused`).
    func refused(key: String, firstInWindow: Bool, now: Date, clientID: String? = nil,
                 remoteAddress: String? = nil) async throws -> OAuthError {
        try await limiter.refused(rule, key: key, firstInWindow: firstInWindow, now: now, clientID: clientID,
                                  remoteAddress: remoteAddress)
    }
}
