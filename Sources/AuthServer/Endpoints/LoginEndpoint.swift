import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// `POST /login`: the sign-in form. Checks, in order: the pending request belongs to this
/// browser and the CSRF token matches; an attempt can be reserved for the account and the
/// address (they are not throttled); the password is right. Then it starts a session and
/// moves on to consent.
struct LoginEndpoint: AuthServerEndpoint {
    let flow: AuthorizationFlow
    let users: UserStore
    let throttle: LoginThrottle
    let audit: AuditLog
    let metrics: AuthMetrics
    let sessionLifetime: Int
    /// `GATEHOUSE_TRUST_FORWARDED_FOR`: one trusted proxy in front sets `X-Forwarded-For`.
    let trustForwardedFor: Bool

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/login") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        let now = flow.clock.now()
        guard let pending = try await flow.pendingRequest(from: form, request: request, now: now) else {
            return flow.staleFormPage("sign-in")
        }
        let client: Client
        switch try await flow.client(of: pending) {
        case .found(let found): client = found
        case .refused(let page): return page
        }
        let username = (try form.single("username") ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let password = try form.single("password") ?? ""
        let address = clientAddress(request, context: context)

        // Reserved before the password is hashed, so parallel guesses cannot outrun the count.
        let reservation: LoginThrottle.Reservation
        switch try await throttle.reserve(username: username, remoteAddress: address, now: now) {
        case .reserved(let reserved): reservation = reserved
        case .throttled(let retryAfter):
            var response = flow.loginPage(pending, client: client, username: username,
                                          error: "Too many failed attempts. Try again in \(max(1, retryAfter / 60)) minute(s).",
                                          status: .tooManyRequests)
            response.headers[HTTPField.Name.retryAfter] = String(retryAfter)
            return response
        }
        guard !username.isEmpty, !password.isEmpty,
              let user = try await users.authenticate(username: username, password: password)
        else {
            await throttle.settle(reservation, succeeded: false)
            metrics.loginFailures.increment()
            await audit.record(.loginFailed, outcome: .failure, username: username.isEmpty ? nil : String(username.prefix(64)),
                                   clientID: client.clientID, remoteAddress: address)
            return flow.loginPage(pending, client: client, username: username,
                                  error: "That username and password don't match.", status: .unauthorized)
        }
        await throttle.settle(reservation, succeeded: true)
        await audit.record(.login, username: user.username, clientID: client.clientID, remoteAddress: address)
        let sessionID = try await flow.sessions.create(userID: user.id, now: now)
        var response = try await flow.continueFlow(pending, client: client, sessionID: sessionID, context: context)
        response.setCookie(flow.cookie(.session, value: sessionID, maxAge: sessionLifetime))
        return response
    }

    /// The peer address, or — when the operator says one trusted proxy sits in front
    /// (GATEHOUSE_TRUST_FORWARDED_FOR) — the last `X-Forwarded-For` entry: the address that proxy
    /// saw. Earlier entries come from the client and can be forged (a proxy that appends, like
    /// Fly's, keeps them), so they are never used for throttling.
    private func clientAddress(_ request: Request, context: AuthRequestContext) -> String {
        if trustForwardedFor,
           let forwarded = request.headers[.xForwardedFor]?.split(separator: ",").last {
            return forwarded.trimmingCharacters(in: CharacterSet.whitespaces)
        }
        return context.peerAddress
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}
