import Foundation
import Hummingbird
import Shared

/// `GET /login/<id>/callback`: the provider sends the browser back. Checks, in order, each
/// failure on Gatehouse's own page (`FederationFailurePage`), never a redirect:
///
/// | check | refused when |
/// |---|---|
/// | `state` | unknown, expired or already used (it is deleted now: single-use) |
/// | provider | the `state` was issued for another provider than this path names |
/// | browser | the `gh_federation` cookie is not the one the sign-in was started with |
/// | pending request | gone, or not this browser's (`gh_flow`), so another request cannot be completed (a sign-in started on the account page has none) |
/// | provider's answer | `error=…` (the person or the provider said no), or no `code` |
/// | the person | the code cannot be redeemed, the ID token (or GitHub's API) fails a check |
/// | `allow` | no rule matches (and no operator link) |
/// | account | the linked user is disabled |
///
/// Then a session starts and the flow continues to consent exactly as after a password, or, for a
/// sign-in started on the account page (`AccountFederatedSignInEndpoint`), goes back to `/account`.
struct FederatedCallbackEndpoint: AuthServerEndpoint {
    let flow: AuthorizationFlow
    let providers: [String: FederatedProvider]
    let logins: FederatedLoginStore
    let identities: UserIdentityStore
    let failures: FederationFailurePage
    let audit: AuditLog
    let sessionLifetime: Int

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.get("/login/:provider/callback") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let now = flow.clock.now()
        var query: [String: [String]] = [:]
        for (name, value) in request.uri.queryParameters { query[String(name), default: []].append(String(value)) }
        func single(_ name: String) -> String? { query[name]?.count == 1 ? query[name]?.first : nil }
        let id = context.parameters.get("provider") ?? ""
        // Set once the `state` is known to come from the account page: its failures link back there.
        var fromAccountPage = false
        func fail(_ failure: FederationFailure, _ pending: PendingRequestStore.Pending? = nil, username: String? = nil) async -> Response {
            var response = await failures.render(failure, providerID: providers[id] == nil ? nil : id, pending: pending,
                                                 context: context, username: username, accountPage: fromAccountPage)
            response.setCookie(flow.cookie(.federation, value: "", maxAge: 0))
            return response
        }
        guard let provider = providers[id] else { return await fail(.init(.invalidState, "There is no such sign-in option.")) }
        guard let state = single("state"), let inFlight = try await logins.consume(state: state, now: now) else {
            return await fail(.init(.invalidState, "This sign-in has expired or was already used. Start again from the app."))
        }
        fromAccountPage = inFlight.continuation == .account
        guard inFlight.providerID == id else {
            return await fail(.init(.invalidState, "This answer belongs to a sign-in with another provider."))
        }
        guard let cookie = flow.cookieValue(.federation, in: request), constantTimeEquals(Digest.sha256(cookie), inFlight.browserBindingHash) else {
            return await fail(.init(.invalidState, "This sign-in was started in another browser. Start again from the app in this one."))
        }
        let pending: PendingRequestStore.Pending?
        switch inFlight.continuation {
        case .account: pending = nil
        case .authorization(let requestID):
            guard let found = try await flow.pendingRequests.find(id: requestID, browserBinding: flow.cookieValue(.flow, in: request), now: now) else {
                return await fail(.init(.invalidState, "The request this sign-in belongs to has expired. Start again from the app."))
            }
            pending = found
        }
        let name = provider.configuration.name
        if let error = single("error") {
            let code = String(error.unicodeScalars.filter { $0.value > 0x20 && $0.value < 0x7F }.prefix(40).map(Character.init))
            return await fail(.init(.providerDenied, "\(name) did not sign you in (\(code))."), pending)
        }
        guard let code = single("code"), !code.isEmpty else {
            return await fail(.init(.providerError, "\(name) sent the browser back without a code."), pending)
        }
        let identity: FederatedIdentity
        do {
            identity = try await provider.signIn.identity(code: code, codeVerifier: inFlight.codeVerifier, nonce: inFlight.nonce,
                                                          redirectURI: provider.resolved.redirectURI(issuer: flow.issuer), now: now)
        } catch {
            return await fail(error, pending)
        }
        if let problem = identity.problem { return await fail(.init(.providerError, problem), pending) }
        let who = identity.email ?? identity.login ?? identity.subject
        switch try await identities.signIn(identity, allowed: provider.allows(identity),
                                           usernameHint: provider.usernameHint(identity), now: now) {
        case .notAllowed:
            return await fail(.init(.notAllowed, "Your \(name) account \(who) may not sign in here. Ask the operator to allow it."),
                              pending, username: String(who.prefix(64)))
        case .disabled(let user):
            return await fail(.init(.accountDisabled, "The Gatehouse account for your \(name) account is disabled."),
                              pending, username: user.username)
        case .signedIn(let user, let created):
            var detail = ["provider": id]
            if created { detail["created"] = "true" }
            guard let pending else {
                detail["via"] = "account"
                await audit.record(.login, username: user.username, remoteAddress: context.clientAddress, detail: detail)
                return try await continueToAccount(user: user, request: request)
            }
            await audit.record(.login, username: user.username, clientID: pending.request.clientID, remoteAddress: context.clientAddress,
                               detail: detail)
            return try await continueFlow(pending, user: user, request: request, context: context)
        }
    }

    private func continueFlow(_ pending: PendingRequestStore.Pending, user: User, request: Request,
                              context: AuthRequestContext) async throws -> Response {
        let client: Client
        switch try await flow.client(of: pending) {
        case .found(let found): client = found
        case .refused(let page): return page
        }
        let now = flow.clock.now()
        let sessionID = try await flow.sessions.create(userID: user.id, now: now, userAgent: request.headers[.userAgent])
        var response = try await flow.continueFlow(pending, client: client, sessionID: sessionID, context: context)
        response.setCookie(flow.cookie(.session, value: sessionID, maxAge: sessionLifetime))
        response.setCookie(flow.cookie(.federation, value: "", maxAge: 0))
        return response
    }

    /// The account page's continuation: what `POST /account/login` does after a right password
    /// (a session, its cookie, the used `gh_signin` cookie cleared, back to `/account`).
    private func continueToAccount(user: User, request: Request) async throws -> Response {
        let sessionID = try await flow.sessions.create(userID: user.id, now: flow.clock.now(), userAgent: request.headers[.userAgent])
        var response = AuthorizationFlow.redirect(to: "/account")
        response.setCookie(flow.cookie(.session, value: sessionID, maxAge: sessionLifetime))
        response.setCookie(flow.cookie(.federation, value: "", maxAge: 0))
        response.setCookie(flow.cookie(.signIn, value: "", maxAge: 0))
        return response
    }
}
