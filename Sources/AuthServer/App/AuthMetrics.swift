import Metrics

/// Counters an operator watches: token issuance, refreshes, and the security events that should
/// stay near zero (reuse detections, replays).
struct AuthMetrics: Sendable {
    let accessTokensIssued = Counter(label: "gatehouse_access_tokens_issued_total")
    let refreshes = Counter(label: "gatehouse_refresh_grants_total")
    let refreshReuseDetected = Counter(label: "gatehouse_refresh_reuse_detected_total")
    let codeReplayDetected = Counter(label: "gatehouse_code_replay_detected_total")
    let registrations = Counter(label: "gatehouse_client_registrations_total")
    let loginFailures = Counter(label: "gatehouse_login_failures_total")
    /// Registrations that repeated an earlier one byte for byte from the same network (RateLimitSettings).
    let duplicateRegistrations = Counter(label: "gatehouse_duplicate_registrations_total")

    /// `gatehouse_rate_limited_total{limit="registration|token|authorize"}`: requests answered 429.
    func rateLimited(_ limit: RateLimitRule.Limit) -> Counter {
        Counter(label: "gatehouse_rate_limited_total", dimensions: [("limit", limit.rawValue)])
    }
}
