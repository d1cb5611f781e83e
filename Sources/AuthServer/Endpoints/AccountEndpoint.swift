import Foundation
import Hummingbird
import Shared

/// `GET /account` (issue 13 item 4): a signed-in person sees the apps that can act for them, their
/// API keys and their sessions; anyone else gets the sign-in form, which brings them back here.
/// The page is plain HTML forms under the login page's Content-Security-Policy: no script.
struct AccountEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let grants: UserGrantStore
    let apiKeys: APIKeyStore
    /// `GATEHOUSE_API_KEYS`: when false the section says keys are switched off.
    let apiKeysEnabled: Bool
    let resources: ProtectedResourceCatalog
    /// The Connections section (issue 12), when the config file has `connections:`.
    var connections: ConnectionPanel? = nil

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.get("/account") { request, _ in try await self.handle(request) }
    }

    func handle(_ request: Request) async throws -> Response {
        guard let signedIn = try await forms.signedIn(request) else { return forms.signInPage(request) }
        let now = forms.flow.clock.now()
        let sessions = forms.flow.sessions
        try await sessions.touch(sessionID: signedIn.sessionID, now: now)
        let notice = request.uri.queryParameters.get("done").flatMap { AccountPage.notices[$0] }
        let page = AccountPage(
            username: signedIn.user.username, csrfToken: signedIn.csrfToken,
            grants: try await grants.grants(ofUsername: signedIn.user.username) ?? [],
            keys: apiKeysEnabled ? try await apiKeys.list(username: signedIn.user.username) : nil,
            sessions: try await sessions.sessions(ofUser: signedIn.user.id, currentSessionID: signedIn.sessionID, now: now),
            resources: resources, notice: notice, now: now)
        var values = page.values
        if let connections {
            values["connections"] = connections.accountValues(try await connections.items(userID: signedIn.user.id))
            values["hasConnections"] = true
        }
        return forms.flow.pages.render("account", values)
    }
}
