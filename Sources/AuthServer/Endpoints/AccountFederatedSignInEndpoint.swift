import Foundation
import Hummingbird
import Shared

/// `POST /account/login/<id>`: a "Sign in with …" button of the account page's own sign-in, for
/// a person who arrives without an authorization request. Checks, in order: the form was shown in
/// this browser (`gh_signin` cookie and its token, same origin: the login-CSRF guard of
/// `POST /account/login`); the provider is configured. Then it records the upstream request as
/// the login page's button does (`FederatedProvider.redirectToSignIn`), with the account page as
/// its continuation instead of a pending request, and sends the browser to the provider. The provider answers at the same callback
/// (`GET /login/<id>/callback`, `FederatedCallbackEndpoint`), which then starts a session and
/// goes back to `/account`.
struct AccountFederatedSignInEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let providers: [String: FederatedProvider]
    let logins: FederatedLoginStore
    let failures: FederationFailurePage

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/account/login/:provider") { request, context in
            try await self.forms.page { try await self.start(request, context: context) }
        }
    }

    func start(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        guard forms.formGuard.allows(request, purpose: .signIn, secret: forms.flow.cookieValue(.signIn, in: request),
                                     submitted: try form.single("csrf")) else {
            return forms.errorPage(
                heading: "This sign-in form can't be used",
                message: "It has expired or was not opened in this browser. Open your account page again to sign in.",
                status: .forbidden)
        }
        guard let id = context.parameters.get("provider"), let provider = providers[id] else {
            return await failures.render(FederationFailure(.invalidState, "There is no such sign-in option."),
                                         providerID: nil, pending: nil, context: context, accountPage: true)
        }
        return try await provider.redirectToSignIn(id: id, continuation: .account, flow: forms.flow, logins: logins) { failure in
            await failures.render(failure, providerID: id, pending: nil, context: context, accountPage: true)
        }
    }
}
