import Foundation
import HTTPTypes
import Shared

/// The password step both sign-in forms share (`POST /login` of the authorization flow and
/// `POST /account/login`), so they throttle, count and audit a guess the same way.
///
/// Order: an attempt is reserved for the account and the address before the password is hashed
/// (the login throttle, so parallel guesses cannot outrun the count); then the password is checked
/// and the reservation settled with the outcome; both outcomes are audited (`login`,
/// `login_failed`) with `detail`, and a failure is counted in `gatehouse_login_failures_total`.
struct PasswordSignIn: Sendable {
    enum Outcome: Sendable {
        case signedIn(User)
        case refused(message: String, status: HTTPResponse.Status, retryAfter: Int?)
    }

    let users: UserStore
    let throttle: LoginThrottle
    let audit: AuditLog
    let metrics: AuthMetrics

    func check(username: String, password: String, address: String, now: Date, clientID: String? = nil,
               detail: [String: String] = [:]) async throws -> Outcome {
        let reservation: LoginThrottle.Reservation
        switch try await throttle.reserve(username: username, remoteAddress: address, now: now) {
        case .reserved(let reserved): reservation = reserved
        case .throttled(let retryAfter):
            return .refused(message: "Too many failed attempts. Try again in \(max(1, retryAfter / 60)) minute(s).",
                            status: .tooManyRequests, retryAfter: retryAfter)
        }
        guard !username.isEmpty, !password.isEmpty,
              let user = try await users.authenticate(username: username, password: password)
        else {
            await throttle.settle(reservation, succeeded: false)
            metrics.loginFailures.increment()
            await audit.record(.loginFailed, outcome: .failure, username: username.isEmpty ? nil : String(username.prefix(64)),
                               clientID: clientID, remoteAddress: address, detail: detail)
            return .refused(message: "That username and password don't match.", status: .unauthorized, retryAfter: nil)
        }
        await throttle.settle(reservation, succeeded: true)
        await audit.record(.login, username: user.username, clientID: clientID, remoteAddress: address, detail: detail)
        return .signedIn(user)
    }
}

extension AuthServerEnvironment {
    /// The one password step, for both sign-in forms.
    var passwordSignIn: PasswordSignIn {
        PasswordSignIn(users: users, throttle: throttle, audit: audit, metrics: metrics)
    }
}
