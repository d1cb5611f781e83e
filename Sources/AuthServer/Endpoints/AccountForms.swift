import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// What the account page's endpoints share: who is signed in, the checks every POST passes before
/// it may change anything, and the pages for everything that goes wrong. A bad input on these
/// pages is a clear HTML page (400, or 403 for a forged form), never a JSON error or a 500.
struct AccountForms: Sendable {
    let flow: AuthorizationFlow
    let formGuard: SessionFormGuard

    struct SignedIn: Sendable {
        let user: User
        let sessionID: String
        /// What every form of this session carries (`SessionFormGuard`).
        var csrfToken: String { SessionFormGuard.token(.session, secret: sessionID) }
    }

    /// The person behind this browser's live session, if any.
    func signedIn(_ request: Request) async throws -> SignedIn? {
        guard let sessionID = flow.cookieValue(.session, in: request),
              let user = try await flow.sessions.user(sessionID: sessionID, now: flow.clock.now())
        else { return nil }
        return SignedIn(user: user, sessionID: sessionID)
    }

    enum Submission: Sendable {
        case accepted(FormBody, SignedIn)
        /// The page to show instead; nothing was changed.
        case refused(Response)
    }

    /// A form posted by a signed-in person, checked in this order: the body is a form; there is
    /// a live session (else back to the sign-in); the fetch metadata and the CSRF token are this
    /// session's (else 403). The caller changes state only after `.accepted`.
    func submission(_ request: Request, context: AuthRequestContext) async throws -> Submission {
        let form: FormBody
        do { form = try await FormBody(request: request, context: context) } catch let error as OAuthError {
            return .refused(badRequest(error.errorDescription ?? "The form could not be read."))
        }
        guard let signedIn = try await signedIn(request) else {
            return .refused(AuthorizationFlow.redirect(to: "/account"))
        }
        guard formGuard.allows(request, purpose: .session, secret: signedIn.sessionID, submitted: try? form.single("csrf")) else {
            return .refused(forgedForm())
        }
        return .accepted(form, signedIn)
    }

    /// Runs `body`, showing a refused input (an `OAuthError` below 500: a repeated field, a bad
    /// value) as a 400 page rather than the JSON the OAuth endpoints answer with.
    func page(_ body: () async throws -> Response) async throws -> Response {
        do { return try await body() } catch let error as OAuthError where error.status.code < 500 {
            return badRequest(error.errorDescription ?? "The request could not be used.")
        }
    }

    func badRequest(_ message: String) -> Response {
        errorPage(heading: "That didn't work", message: message, status: .badRequest)
    }

    /// A form from another site, another browser, or an ended session.
    func forgedForm() -> Response {
        errorPage(heading: "This form can't be used",
                  message: "It was not opened in this browser's current session, or it came from another site. Open your account page and try again.",
                  status: .forbidden)
    }

    func errorPage(heading: String, message: String, status: HTTPResponse.Status) -> Response {
        flow.pages.render("account-error", status: status, ["title": heading, "heading": heading, "message": message])
    }

    /// Post/Redirect/Get: back to the account page, with one of `AccountPage.notices` shown.
    static func backToAccount(_ notice: String) -> Response {
        AuthorizationFlow.redirect(to: "/account?done=\(notice)")
    }

    // MARK: The account page's own sign-in

    /// The sign-in form, bound to this browser by the `gh_signin` cookie (kept when the browser
    /// already has one, so two tabs both work): its token proves the form was shown here, so
    /// another site cannot sign a person in to an account of its choosing (login CSRF). As on the
    /// login page, `login.password: false` hides the password form, and each identity provider
    /// has a "Sign in with …" button (`POST /account/login/<id>`, carrying the same token).
    func signInPage(_ request: Request, username: String? = nil, error: String? = nil,
                    status: HTTPResponse.Status = .ok) -> Response {
        let existing = flow.cookieValue(.signIn, in: request).flatMap { (20...100).contains($0.count) ? $0 : nil }
        let secret = existing ?? SecureRandom.token()
        var values: [String: Any] = ["title": "Sign in", "csrfToken": SessionFormGuard.token(.signIn, secret: secret)]
        if let username { values["username"] = username }
        if let error { values["errorMessage"] = error }
        if !flow.loginOptions.password { values["passwordLoginOff"] = true }
        if !flow.loginOptions.providers.isEmpty { values["providers"] = flow.loginOptions.templateValues }
        var response = flow.pages.render("account-sign-in", status: status, values)
        if existing == nil { response.setCookie(flow.cookie(.signIn, value: secret, maxAge: Self.signInLifetime)) }
        return response
    }

    /// How long a sign-in form shown on the account page can be submitted.
    static let signInLifetime = 3600

    /// Clears one of our cookies with the attributes it was set with (a browser matches on them).
    func clearing(_ kind: AuthorizationFlow.BrowserCookie, on response: inout Response) {
        response.setCookie(flow.cookie(kind, value: "", maxAge: 0))
    }
}
