import Foundation
import Shared

/// The rate limits of issue 13 and the duplicate-registration window, read once at start-up.
/// Every limit is a count per fixed window shared by all replicas (`RateLimiter`); 0 switches it off.
struct RateLimitSettings: Sendable {
    /// `GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR`: `POST /register` per source network (/24, /56).
    var registrationsPerHour: Int
    /// `GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE`: successful-to-be `POST /token` per client.
    var tokenRequestsPerMinute: Int
    /// `GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE`: valid `GET /authorize` per client.
    var authorizeRequestsPerMinute: Int
    /// `GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW`: how far back an identical registration from the
    /// same network counts as a duplicate; 0 never counts.
    var duplicateRegistrationWindow: TimeInterval

    static let off = RateLimitSettings(registrationsPerHour: 0, tokenRequestsPerMinute: 0, authorizeRequestsPerMinute: 0,
                                       duplicateRegistrationWindow: 0)

    init(registrationsPerHour: Int, tokenRequestsPerMinute: Int, authorizeRequestsPerMinute: Int,
         duplicateRegistrationWindow: TimeInterval) {
        self.registrationsPerHour = registrationsPerHour
        self.tokenRequestsPerMinute = tokenRequestsPerMinute
        self.authorizeRequestsPerMinute = authorizeRequestsPerMinute
        self.duplicateRegistrationWindow = duplicateRegistrationWindow
    }

    init(environment env: Environment) throws {
        registrationsPerHour = try env.int("GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR", default: 30, range: 0...1_000_000)
        tokenRequestsPerMinute = try env.int("GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE", default: 120, range: 0...1_000_000)
        authorizeRequestsPerMinute = try env.int("GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE", default: 60,
                                                 range: 0...1_000_000)
        duplicateRegistrationWindow = try Self.duration(env, "GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW", default: 86400)
    }

    var registration: RateLimitRule { RateLimitRule(limit: .registration, maximum: registrationsPerHour, window: 3600) }
    var token: RateLimitRule { RateLimitRule(limit: .token, maximum: tokenRequestsPerMinute, window: 60) }
    var authorize: RateLimitRule { RateLimitRule(limit: .authorize, maximum: authorizeRequestsPerMinute, window: 60) }

    /// `24h`, `30m`, `7d`, `90s` or a number of seconds; at most 30 days.
    static func duration(_ env: Environment, _ key: String, default fallback: TimeInterval) throws -> TimeInterval {
        guard let raw = env.string(key)?.lowercased() else { return fallback }
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86400]
        let (digits, unit) = raw.last.flatMap { units[$0] }.map { (raw.dropLast(), $0) } ?? (Substring(raw), 1)
        guard let count = Int(digits), count >= 0, count <= 30 * 86400 / unit else {
            throw ConfigurationError(key, "expected a duration like 24h, 30m, 7d or a number of seconds (at most 30d), got \"\(raw.prefix(40))\"")
        }
        return TimeInterval(count * unit)
    }
}
