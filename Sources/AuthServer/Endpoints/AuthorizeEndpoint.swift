import Foundation
import Hummingbird
import Shared

/// `GET /authorize` (RFC 6749 §4.1.1, OAuth 2.1 §4.1.1): validates the request in the order
/// `AuthorizeValidator` lists, parks it while the person signs in and consents, and — when they
/// already have a session and a remembered consent — answers with the code straight away.
struct AuthorizeEndpoint: AuthServerEndpoint {
    let validator: AuthorizeValidator
    let flow: AuthorizationFlow
    /// GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE, per client, for valid requests only.
    var rateLimit: RateLimitGate? = nil

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.get("/authorize") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        switch try await validator.validate(FormBody(query: request.uri).values) {
        case .errorPage(let error):
            context.logger.info("authorize refused on our own page", metadata: ["error": "\(error.code)"])
            return flow.pages.errorPage(ErrorPageContent(code: error.code.rawValue, message: error.errorDescription ?? "invalid request"))
        case .errorRedirect(let redirect, let error, let client):
            // RFC 9700 §4.11.2: with open registration anyone can register any redirect URI, so an
            // error redirect for such a client would make us an open redirector. Until a person has
            // signed in, errors of dynamically registered and metadata-document clients are shown
            // on our own page; operator-vetted clients get the RFC 6749 §4.1.2.1 redirect.
            if !client.redirectURIsAreVetted {
                let signedIn = try await flow.sessions.user(sessionID: flow.cookieValue(.session, in: request), now: flow.clock.now())
                if signedIn == nil {
                    context.logger.info("authorize refused on our own page before sign-in", metadata: ["error": "\(error.code)"])
                    return flow.pages.errorPage(ErrorPageContent(code: error.code.rawValue, message: error.errorDescription ?? "invalid request"))
                }
            }
            return AuthorizationFlow.redirect(to: redirect.error(error, issuer: flow.issuer))
        case .valid(let authorization, let client):
            let now = flow.clock.now()
            // Only here: an invalid request (unknown client, bad redirect URI, any later check) has
            // had its terminal answer above, and the 429 is our own JSON answer, never a redirect.
            if let limited = try await rateLimit?.check(key: client.clientID, now: now, clientID: client.clientID,
                                                        remoteAddress: context.clientAddress) {
                throw limited
            }
            let (pending, binding) = try await flow.pendingRequests.create(authorization, now: now)
            var response = try await flow.continueFlow(
                pending, client: client, sessionID: authorization.forceLogin ? nil : flow.cookieValue(.session, in: request),
                context: context, browserSessionID: authorization.forceLogin ? flow.cookieValue(.session, in: request) : nil)
            response.setCookie(flow.cookie(.flow, value: binding, maxAge: Int(PendingRequestStore.lifetime)))
            return response
        }
    }
}
