import Foundation
import Hummingbird
import Shared

/// `POST /logout` ends this browser's session, and `POST /account/sessions/sign-out-everywhere`
/// every session of the person (issue 13 item 4). A POST form with the session's CSRF token, never
/// a GET link: another site cannot sign a person out. The session row is deleted (a code can no
/// longer be issued for it: `AuthorizationCodeStore.issue` requires it) and the cookie is cleared
/// with the attributes it was set with. Tokens already issued to apps are not touched: they are
/// the apps' grants, which the account page revokes separately.
struct LogoutEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let audit: AuditLog

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/logout") { request, context in
            try await self.forms.page { try await self.logout(request, context: context) }
        }
        router.post("/account/sessions/sign-out-everywhere") { request, context in
            try await self.forms.page { try await self.everywhere(request, context: context) }
        }
    }

    func logout(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        // No session cookie: nothing to end (and nothing another site could end).
        guard let sessionID = forms.flow.cookieValue(.session, in: request) else { return signedOut(everywhere: false) }
        guard forms.formGuard.allows(request, purpose: .session, secret: sessionID, submitted: try form.single("csrf")) else {
            return forms.forgedForm()
        }
        let user = try await forms.signedIn(request)?.user
        if try await forms.flow.sessions.delete(sessionID: sessionID) != nil, let user {
            await audit.record(.logout, username: user.username, remoteAddress: context.clientAddress)
        }
        return signedOut(everywhere: false)
    }

    func everywhere(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let signedIn: AccountForms.SignedIn
        switch try await forms.submission(request, context: context) {
        case .refused(let page): return page
        case .accepted(_, let person): signedIn = person
        }
        let ended = try await forms.flow.sessions.deleteAll(ofUser: signedIn.user.id)
        await audit.record(.signedOutEverywhere, username: signedIn.user.username, remoteAddress: context.clientAddress,
                           detail: ["sessions": String(ended)])
        return signedOut(everywhere: true)
    }

    private func signedOut(everywhere: Bool) -> Response {
        var response = forms.flow.pages.render("signed-out", [
            "title": "Signed out", "heading": everywhere ? "Signed out everywhere" : "Signed out",
            "message": everywhere
                ? "Every session of your account has ended, on this device and all others. Apps you allowed keep their access until you revoke it."
                : "You are signed out on this device. Apps you allowed keep their access until you revoke it on your account page.",
        ])
        forms.clearing(.session, on: &response)
        return response
    }
}
