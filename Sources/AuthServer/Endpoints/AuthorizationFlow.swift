import Foundation
import Hummingbird
import Shared

/// The steps after a valid authorization request: sign in, consent, code. Shared by the
/// authorize, login and consent endpoints so each decides the next page the same way.
struct AuthorizationFlow: Sendable {
    let clients: ClientResolver
    let pages: PageRenderer
    let pendingRequests: PendingRequestStore
    let sessions: SessionStore
    let consents: ConsentStore
    /// Completing a request writes to three stores; `issueCode` does it in one transaction.
    let database: Database
    let clock: Clock
    let issuer: String
    let codeLifetime: TimeInterval
    /// The issuer is https: cookies are `Secure` and `__Host-` prefixed.
    let https: Bool
    /// The protected resources: their names and scope texts for the consent page, and consent per resource.
    let resources: ProtectedResourceCatalog
    /// The consent page's "Connect <name>" buttons for a resource whose `connections:` the
    /// person lacks (issue 12); nil without connections.
    var connections: ConnectionPanel? = nil
    /// The login page's password form (`login.password`) and "Sign in with …" buttons (issue 12).
    var loginOptions = LoginOptions()

    enum ClientLookup {
        case found(Client)
        /// The page to show instead.
        case refused(Response)
    }

    /// The client of a parked request, looked up again: since `/authorize` it may have been
    /// deleted, or its metadata document may have gone stale and turned invalid.
    func client(of pending: PendingRequestStore.Pending) async throws -> ClientLookup {
        do {
            guard let client = try await clients.find(pending.request.clientID) else {
                return .refused(pages.errorPage(ErrorPageContent(code: "invalid_client", message: "The application is no longer registered.")))
            }
            return .found(client)
        } catch let error as OAuthError {
            return .refused(pages.errorPage(ErrorPageContent(code: error.code.rawValue, message: error.errorDescription ?? "invalid client")))
        }
    }

    /// The pending request a login or consent form belongs to: it must exist, not have expired,
    /// have been started in this browser (the `gh_flow` cookie), and carry its CSRF token.
    func pendingRequest(from form: FormBody, request: Request, now: Date) async throws -> PendingRequestStore.Pending? {
        guard let requestID = try form.single("request"),
              let pending = try await pendingRequests.find(
                id: requestID, browserBinding: cookieValue(.flow, in: request), now: now),
              let csrf = try form.single("csrf"), constantTimeEquals(Array(csrf.utf8), Array(pending.csrfToken.utf8))
        else { return nil }
        return pending
    }

    /// The page for a form whose request is gone, foreign or forged.
    func staleFormPage(_ what: String) -> Response {
        pages.errorPage(ErrorPageContent(
            code: "invalid_request",
            message: "This \(what) form has expired or was not opened in this browser. Start again from the app."))
    }

    /// Shows login when there is no session, consent when it is needed, else issues the code.
    /// `browserSessionID` is the session cookie when `sessionID` is withheld (prompt=login): the
    /// login page then offers to sign that session out.
    func continueFlow(_ pending: PendingRequestStore.Pending, client: Client, sessionID: String?,
                      context: AuthRequestContext, browserSessionID: String? = nil) async throws -> Response {
        let now = clock.now()
        guard let user = try await sessions.user(sessionID: sessionID, now: now) else {
            var signedIn: (User, String)?
            if let browserSessionID, let user = try await sessions.user(sessionID: browserSessionID, now: now) {
                signedIn = (user, browserSessionID)
            }
            return loginPage(pending, client: client, username: nil, error: nil, signedIn: signedIn)
        }
        try await sessions.touch(sessionID: sessionID, now: now)
        // A dynamically registered client always asks the first time; afterwards the remembered
        // consent covers requests for no more scope than was granted, but only where the redirect
        // URI proves who receives the code. RFC 8252 §8.6: "the authorization server SHOULD NOT
        // process authorization requests automatically without user consent or interaction,
        // except when the identity of the client can be assured." A loopback or private-use
        // redirect is served by whatever local program listens on the port or claimed the scheme,
        // so such a request always shows the (one-click) consent page.
        let identityProven = RedirectURIPolicy.kind(of: pending.request.redirectURI) == .https
        // A trusted pre-registered client (first-party, vetted by the operator) is not asked
        // about, unless the client itself asks for the page (prompt=consent).
        if client.trusted && client.isPreregistered && !pending.request.forceConsent {
            return try await issueCode(pending, user: user, sessionID: sessionID, recordConsent: false, context: context)
        }
        let remembered = try await consents.hasConsent(
            userID: user.id, clientID: client.clientID,
            scope: resources.consentScope(pending.request.scopeSet, resource: pending.request.resource))
        if remembered && identityProven && !pending.request.forceConsent {
            return try await issueCode(pending, user: user, sessionID: sessionID, recordConsent: false, context: context)
        }
        var needed: [[String: Any]] = []
        if let connections, let resource = ResourceIdentifier(pending.request.resource).flatMap(resources.resource(for:)),
           !resource.configuration.connections.isEmpty {
            needed = connections.consentValues(
                try await connections.items(userID: user.id, only: resource.configuration.connections), pendingID: pending.id)
        }
        return consentPage(pending, client: client, user: user, sessionID: sessionID, connections: needed)
    }

    /// `signedIn`: the browser's live session (prompt=login), offered a sign-out form (`POST /logout`).
    func loginPage(_ pending: PendingRequestStore.Pending, client: Client, username: String?, error: String?,
                   status: HTTPResponse.Status = .ok, signedIn: (user: User, sessionID: String)? = nil) -> Response {
        var values: [String: Any] = [
            "title": "Sign in", "clientName": client.name ?? client.clientID,
            "requestID": pending.id, "csrfToken": pending.csrfToken,
        ]
        if let username { values["username"] = username }
        if let error { values["errorMessage"] = error }
        if !loginOptions.password { values["passwordLoginOff"] = true }
        if !loginOptions.providers.isEmpty { values["providers"] = loginOptions.templateValues }
        if let signedIn {
            values["signedInAs"] = signedIn.user.username
            values["signOutCSRF"] = SessionFormGuard.token(.session, secret: signedIn.sessionID)
        }
        return pages.render("login", status: status, values)
    }

    /// With the session, a "Not you? Sign out" form (`POST /logout`) under the decision.
    func consentPage(_ pending: PendingRequestStore.Pending, client: Client, user: User, sessionID: String? = nil,
                     connections: [[String: Any]] = []) -> Response {
        let redirect = URLComponents(string: pending.request.redirectURI)
        let host = redirect?.host.map { h in redirect?.port.map { "\(h):\($0)" } ?? h } ?? (redirect?.scheme ?? "")
        let scopes = pending.request.scopeSet.tokens.map { ["name": $0, "text": resources.consentWording(for: $0)] }
        var values: [String: Any] = [
            "title": "Allow access", "clientName": client.name ?? client.clientID, "username": user.username,
            "scopes": scopes, "redirectHost": host, "requestID": pending.id, "csrfToken": pending.csrfToken,
        ]
        // Loopback and private-use redirects deliver the code to an app on this computer.
        if RedirectURIPolicy.kind(of: pending.request.redirectURI) != .https { values["loopbackWarning"] = true }
        if let uri = client.clientURI { values["clientURI"] = uri }
        // With a config file the page names the resource the token will be for.
        if resources.isConfigured, let resource = ResourceIdentifier(pending.request.resource).flatMap(resources.resource(for:)) {
            values["resourceName"] = resource.name
            values["resourceURL"] = resource.identifier.value
        }
        if client.registrationKind == "dynamic" { values["dynamicallyRegistered"] = true }
        if !connections.isEmpty { (values["connections"], values["hasConnections"]) = (connections, true) }
        if let sessionID { values["signOutCSRF"] = SessionFormGuard.token(.session, secret: sessionID) }
        // MCP 2025-11-25: the client_id URL's host is what the document proved; show it.
        if client.isMetadataDocument, let host = ClientMetadataDocument.verifiedHost(of: client.clientID) {
            values["verifiedDomain"] = host
        }
        return pages.render("consent", values)
    }

    /// Issues the code in one transaction with the consent record and the request's deletion,
    /// so a request can be completed once only.
    func issueCode(_ pending: PendingRequestStore.Pending, user: User, sessionID: String?, recordConsent: Bool,
                   context: AuthRequestContext) async throws -> Response {
        let request = pending.request
        let now = clock.now()
        let lifetime = codeLifetime
        let pendingRequests = self.pendingRequests
        let code: String? = try await database.transaction { connection in
            guard try await pendingRequests.consume(id: pending.id, connection: connection) else { return nil }
            if recordConsent {
                try await ConsentStore.record(userID: user.id, clientID: request.clientID,
                                              scope: resources.consentScope(request.scopeSet, resource: request.resource),
                                              connection: connection)
                try await AuditLog.record(.consentGranted, username: user.username, clientID: request.clientID,
                                          remoteAddress: context.clientAddress, detail: ["scope": request.scope],
                                          connection: connection)
            }
            return try await AuthorizationCodeStore.issue(
                for: request, userID: user.id, sessionID: sessionID, lifetime: lifetime, now: now, connection: connection)
        }
        guard let code else {
            return pages.errorPage(ErrorPageContent(code: "invalid_request", message: "This sign-in request was already completed."))
        }
        return Self.redirect(to: request.redirect.success(code: code, issuer: issuer))
    }

    /// A request the person turned down: gone, so its form cannot be posted again.
    func discard(_ pending: PendingRequestStore.Pending) async throws {
        let pendingRequests = self.pendingRequests
        _ = try await database.transaction { connection in
            try await pendingRequests.consume(id: pending.id, connection: connection)
        }
    }

    /// 303 so that a POSTed form turns into a GET at the client's redirect URI.
    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// The cookies of the sign-in flow and of the account page's sign-in.
    enum BrowserCookie: String, Sendable {
        /// The signed-in session.
        case session = "gh_session"
        /// Binds a pending authorization request to the browser that started it.
        case flow = "gh_flow"
        /// Binds the account page's sign-in form to the browser it was shown in (login CSRF).
        case signIn = "gh_signin"
        /// Binds a sign-in through an upstream identity provider to the browser that started it.
        case federation = "gh_federation"

        /// Under https the name carries the `__Host-` prefix (RFC 6265bis §4.1.3.2): browsers then
        /// accept the cookie only with `Secure`, `Path=/` and no `Domain`, so a sibling subdomain
        /// or a plain-http page cannot plant or overwrite it.
        func name(https: Bool) -> String { https ? "__Host-" + rawValue : rawValue }
    }

    func cookie(_ kind: BrowserCookie, value: String, maxAge: Int) -> Cookie {
        Self.cookie(kind, value: value, maxAge: maxAge, https: https)
    }

    static func cookie(_ kind: BrowserCookie, value: String, maxAge: Int, https: Bool) -> Cookie {
        Cookie(name: kind.name(https: https), value: value, maxAge: maxAge, path: "/",
               secure: https, httpOnly: true, sameSite: .lax)
    }

    /// The value of one of our cookies in `request`, under the name this deployment uses.
    func cookieValue(_ kind: BrowserCookie, in request: Request) -> String? {
        request.cookies[kind.name(https: https)]?.value
    }
}
