import Foundation
import Hummingbird
import Shared

/// `POST /consent`: the person's decision. Allow issues the code; Deny sends
/// `access_denied` to the client (RFC 6749 §4.1.2.1), both to the validated redirect URI.
struct ConsentEndpoint: AuthServerEndpoint {
    let flow: AuthorizationFlow
    let audit: AuditLog

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/consent") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        let now = flow.clock.now()
        guard let pending = try await flow.pendingRequest(from: form, request: request, now: now) else {
            return flow.staleFormPage("consent")
        }
        guard let user = try await flow.sessions.user(sessionID: flow.cookieValue(.session, in: request), now: now) else {
            guard case .found(let client) = try await flow.client(of: pending) else {
                return flow.pages.errorPage(ErrorPageContent(code: "invalid_client", message: "The application is no longer registered."))
            }
            return flow.loginPage(pending, client: client, username: nil, error: "Your session ended. Sign in again.")
        }
        switch try form.single("decision") {
        case "approve":
            return try await flow.issueCode(pending, user: user, sessionID: flow.cookieValue(.session, in: request),
                                            recordConsent: true, context: context)
        case "deny":
            try await flow.discard(pending)
            await audit.record(.consentDenied, username: user.username, clientID: pending.request.clientID,
                                   remoteAddress: context.clientAddress)
            let denied = OAuthError(.accessDenied, "the user denied the request")
            return AuthorizationFlow.redirect(to: pending.request.redirect.error(denied, issuer: flow.issuer))
        default:
            throw OAuthError.invalidRequest("decision must be approve or deny")
        }
    }
}
