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
    let signIn: PasswordSignIn
    let sessionLifetime: Int

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/login") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        // login.password: false hides the form; a form posted anyway is refused before any check.
        guard flow.loginOptions.password else {
            return flow.pages.errorPage(ErrorPageContent(code: "invalid_request", message: "Password sign-in is switched off here."),
                                        status: .forbidden)
        }
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
        // GATEHOUSE_TRUSTED_PROXIES decides whether X-Forwarded-For is believed (ClientAddress.swift).
        let user: User
        switch try await signIn.check(username: username, password: password, address: context.clientAddress, now: now,
                                      clientID: client.clientID) {
        case .signedIn(let signedIn): user = signedIn
        case .refused(let message, let status, let retryAfter):
            var response = flow.loginPage(pending, client: client, username: username, error: message, status: status)
            if let retryAfter { response.headers[HTTPField.Name.retryAfter] = String(retryAfter) }
            return response
        }
        let sessionID = try await flow.sessions.create(userID: user.id, now: now, userAgent: request.headers[.userAgent])
        var response = try await flow.continueFlow(pending, client: client, sessionID: sessionID, context: context)
        response.setCookie(flow.cookie(.session, value: sessionID, maxAge: sessionLifetime))
        return response
    }
}
