import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// `POST /account/login`: the account page's own sign-in, for a person who arrives without an
/// authorization request. The authorization flow's `POST /login` is untouched: its form belongs
/// to a pending request (browser-bound, with that request's CSRF token) and this one cannot
/// complete or skip any of it; it only starts a session and goes back to `/account`.
///
/// Checks, in order: password sign-in is on (`login.password: false` hides the form, and a form
/// posted anyway is refused with 403 before any check, as `POST /login` does; the providers'
/// buttons are `AccountFederatedSignInEndpoint`); the form was shown in this browser (`gh_signin` cookie and its token, same
/// origin); an attempt can be reserved for the account and the address (the login throttle,
/// shared with `POST /login`); the password is right.
struct AccountSignInEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let signIn: PasswordSignIn
    let sessionLifetime: Int

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/account/login") { request, context in
            try await self.forms.page { try await self.handle(request, context: context) }
        }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        guard forms.flow.loginOptions.password else {
            return forms.flow.pages.errorPage(ErrorPageContent(code: "invalid_request", message: "Password sign-in is switched off here."),
                                              status: .forbidden)
        }
        let form = try await FormBody(request: request, context: context)
        guard forms.formGuard.allows(request, purpose: .signIn, secret: forms.flow.cookieValue(.signIn, in: request),
                                     submitted: try form.single("csrf")) else {
            return forms.errorPage(
                heading: "This sign-in form can't be used",
                message: "It has expired or was not opened in this browser. Open your account page again to sign in.",
                status: .forbidden)
        }
        let username = (try form.single("username") ?? "").trimmingCharacters(in: .whitespaces).lowercased()
        let password = try form.single("password") ?? ""
        let now = forms.flow.clock.now()

        let user: User
        switch try await signIn.check(username: username, password: password, address: context.clientAddress, now: now,
                                      detail: ["via": "account"]) {
        case .signedIn(let signedIn): user = signedIn
        case .refused(let message, let status, let retryAfter):
            var response = forms.signInPage(request, username: username, error: message, status: status)
            if let retryAfter { response.headers[HTTPField.Name.retryAfter] = String(retryAfter) }
            return response
        }
        let sessionID = try await forms.flow.sessions.create(userID: user.id, now: now, userAgent: request.headers[.userAgent])
        var response = AuthorizationFlow.redirect(to: "/account")
        response.setCookie(forms.flow.cookie(.session, value: sessionID, maxAge: sessionLifetime))
        forms.clearing(.signIn, on: &response)
        return response
    }
}
