import Foundation
import Hummingbird
import Shared

/// `POST /login/<id>`: a "Sign in with …" button of the login page. Checks, in order: the pending
/// authorization request belongs to this browser and the CSRF token matches (as the password
/// form); the provider is configured. Then it records the upstream request (`state`, `nonce`,
/// PKCE verifier, bound to the pending request and to this browser by the `gh_federation`
/// cookie) and sends the browser to the provider. `POST /login/restart` is the failure page's
/// way back to the login page. The callback is `FederatedCallbackEndpoint`.
struct FederatedLoginEndpoint: AuthServerEndpoint {
    let flow: AuthorizationFlow
    let providers: [String: FederatedProvider]
    let logins: FederatedLoginStore
    let failures: FederationFailurePage

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/login/restart") { request, context in try await self.restart(request, context: context) }
        router.post("/login/:provider") { request, context in try await self.start(request, context: context) }
    }

    func start(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        let now = flow.clock.now()
        guard let pending = try await flow.pendingRequest(from: form, request: request, now: now) else {
            return flow.staleFormPage("sign-in")
        }
        guard let id = context.parameters.get("provider"), let provider = providers[id] else {
            return await failures.render(FederationFailure(.invalidState, "There is no such sign-in option."),
                                         providerID: nil, pending: pending, context: context)
        }
        return try await provider.redirectToSignIn(id: id, continuation: .authorization(requestID: pending.id), flow: flow,
                                                   logins: logins) { failure in
            await failures.render(failure, providerID: id, pending: pending, context: context)
        }
    }

    /// The failure page's "Back to sign-in": the login page of the same pending request.
    func restart(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        guard let pending = try await flow.pendingRequest(from: form, request: request, now: flow.clock.now()) else {
            return flow.staleFormPage("sign-in")
        }
        switch try await flow.client(of: pending) {
        case .found(let client): return flow.loginPage(pending, client: client, username: nil, error: nil)
        case .refused(let page): return page
        }
    }
}

extension FederatedProvider {
    /// What both "Sign in with …" buttons do once their own checks passed (the login page's,
    /// `FederatedLoginEndpoint`, and the account page's, `AccountFederatedSignInEndpoint`): record
    /// the upstream request (`state`, `nonce`, PKCE verifier, the `gh_federation` browser binding)
    /// with where it continues, and send the browser to the provider. A provider that cannot be
    /// asked (discovery failed) gets `onFailure`'s page; a database failure is thrown (503).
    func redirectToSignIn(id: String, continuation: FederatedLoginStore.Continuation, flow: AuthorizationFlow,
                          logins: FederatedLoginStore,
                          onFailure: (FederationFailure) async -> Response) async throws -> Response {
        let now = flow.clock.now()
        let started = try await logins.start(providerID: id, continuation: continuation, now: now)
        do {
            let url = try await signIn.authorizationURL(
                state: started.state, nonce: started.nonce, codeChallenge: started.codeChallenge,
                redirectURI: resolved.redirectURI(issuer: flow.issuer), now: now)
            var response = AuthorizationFlow.redirect(to: url)
            response.setCookie(flow.cookie(.federation, value: started.browserBinding, maxAge: Int(FederatedLoginStore.lifetime)))
            return response
        } catch {
            return await onFailure(error)
        }
    }
}

/// Gatehouse's own page for a sign-in through a provider that did not complete: the reason, the
/// code, and (while the pending request lives) a button back to the login page, or, for a sign-in
/// started on the account page, a link back to `/account`. Every failure is
/// audited as `login_failed` with `detail.provider`, `detail.reason` and `detail.message`.
struct FederationFailurePage: Sendable {
    let pages: PageRenderer
    let audit: AuditLog
    let providerNames: [String: String]

    func render(_ failure: FederationFailure, providerID: String?, pending: PendingRequestStore.Pending?,
                context: AuthRequestContext, username: String? = nil, accountPage: Bool = false) async -> Response {
        var detail = ["reason": failure.code.rawValue, "message": failure.message]
        if let providerID { detail["provider"] = providerID }
        await audit.record(.loginFailed, outcome: .failure, username: username, clientID: pending?.request.clientID,
                           remoteAddress: context.clientAddress, detail: detail)
        context.logger.info("federated sign-in refused", metadata: [
            "provider": "\(providerID ?? "-")", "reason": "\(failure.code.rawValue)", "message": "\(failure.message)"])
        var values: [String: Any] = [
            "title": "Sign-in did not work", "message": failure.message, "code": failure.code.rawValue,
        ]
        if let providerID, let name = providerNames[providerID] { values["providerName"] = name }
        if let pending {
            values["requestID"] = pending.id
            values["csrfToken"] = pending.csrfToken
        }
        if accountPage { values["accountPage"] = true }
        return pages.render("federationError", status: failure.status, values)
    }
}
