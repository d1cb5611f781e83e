import Foundation
import Hummingbird
import Shared

/// Connecting a user's account at a third-party API (issue 12, "Connections" item 1): Gatehouse
/// is the OAuth client of the connection's provider (RFC 6749 §4.1), the person its resource owner.
///
/// | route                                  | what it does                                                  |
/// |----------------------------------------|---------------------------------------------------------------|
/// | `GET /connections/<id>/connect`        | needs the Gatehouse session; optional `return` = a pending authorization request of this browser; optional `elicitation` = the gateway's link binding (`ConnectLinkBinding`), which must name the signed-in user; redirects to the provider with `state` (and PKCE S256 when `pkce: true`) |
/// | `GET /connections/<id>/callback`       | `state` must have been issued in this session for this connection (single use, 10 min); exchanges the code, stores the tokens sealed, returns to the consent page or the account page |
/// | `GET /connections/continue?request=…`  | the consent page of a pending request of this browser, again  |
///
/// Every failure is Gatehouse's own page with the reason and a way back, audited, never a 500;
/// nothing of a code or token is shown, logged or audited.
struct ConnectionEndpoint: AuthServerEndpoint {
    let flow: AuthorizationFlow
    let clients: [String: ConnectionTokenClient]
    let states: ConnectionStateStore
    let store: UserConnectionStore
    /// Checks the `elicitation` of a link the gateway handed out in a URL-mode elicitation.
    let links: ConnectLinkBinding
    let audit: AuditLog

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.get("/connections/continue") { request, context in try await self.continueConsent(request, context: context) }
        router.get("/connections/:id/connect") { request, context in try await self.connect(request, context: context) }
        router.get("/connections/:id/callback") { request, context in try await self.callback(request, context: context) }
    }

    func redirectURI(_ connectionID: String) -> String { flow.issuer + "/connections/\(connectionID)/callback" }

    // MARK: connect

    func connect(_ request: Request, context: AuthRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id"), let client = clients[id] else {
            return failure(status: .notFound, message: "There is no such connection on this server.", code: "unknown_connection")
        }
        let now = flow.clock.now()
        guard let sessionID = flow.cookieValue(.session, in: request),
              let user = try await flow.sessions.user(sessionID: sessionID, now: now)
        else {
            return failure(status: .unauthorized, message: "Sign in to Gatehouse first, then connect \(client.connection.name) again.",
                           code: "login_required", back: ("/account", "Sign in on your account page"))
        }
        if let refusal = await checkLinkBinding(request, connection: client.connection, user: user, now: now, context: context) {
            return refusal
        }
        var returnRequest: String?
        if let presented = request.uri.queryParameters.get("return") {
            guard try await flow.pendingRequests.find(id: presented, browserBinding: flow.cookieValue(.flow, in: request), now: now) != nil else {
                return failure(message: "The sign-in this connection was for has expired or was started in another browser. Start again from the app.",
                               code: "invalid_request")
            }
            returnRequest = presented
        }
        let state = SecureRandom.token()
        let verifier = client.connection.pkce ? SecureRandom.token(byteCount: 32) : nil
        try await states.create(state: state, userID: user.id, sessionID: sessionID, connectionID: id, codeVerifier: verifier,
                                returnRequest: returnRequest, now: now)
        return AuthorizationFlow.redirect(to: authorizationURL(client.connection, state: state, verifier: verifier))
    }

    /// MCP 2025-11-25 (Client: Elicitation, Phishing): "the server MUST ensure that the user who
    /// started the elicitation request … is the same user who completes the authorization flow".
    /// A link from a URL-mode elicitation carries `elicitation`, bound to that user: opened in a
    /// browser signed in as someone else, it connects nobody and says why. A link without it (the
    /// account page, the consent page, the tool error's text) connects whoever is signed in, as
    /// always: the tokens then belong to that person, never to someone else.
    func checkLinkBinding(_ request: Request, connection: ConnectionConfiguration, user: User, now: Date,
                          context: AuthRequestContext) async -> Response? {
        guard let presented = request.uri.queryParameters.get(ConnectLinkBinding.parameter) else { return nil }
        switch links.verify(presented, userID: user.id, connectionID: connection.id, now: now) {
        case .valid:
            return nil
        case .expired:
            return failure(message: "This link to connect \(connection.name) has expired. Call the tool in your app again for a new one, or connect from your account page.",
                           code: "expired_link")
        case .invalid:
            await audit.record(.connectionFailed, outcome: .failure, username: user.username, remoteAddress: context.clientAddress,
                               detail: ["connection": connection.id, "reason": "link made for another user"])
            return failure(status: .forbidden,
                           message: "This link was made for another Gatehouse account than the one signed in here (\(user.username)). Sign out, sign in with the account you use in the app, and open the link again.",
                           code: "wrong_account")
        }
    }

    /// RFC 6749 §4.1.1 and RFC 7636 §4.3 (`code_challenge = BASE64URL(SHA256(code_verifier))`).
    func authorizationURL(_ connection: ConnectionConfiguration, state: String, verifier: String?) -> String {
        var parts = URLComponents(string: connection.authorizationEndpoint)!
        var items = parts.queryItems ?? []
        items += [URLQueryItem(name: "response_type", value: "code"), URLQueryItem(name: "client_id", value: connection.clientID),
                  URLQueryItem(name: "redirect_uri", value: redirectURI(connection.id)), URLQueryItem(name: "state", value: state)]
        if !connection.scopes.isEmpty { items.append(URLQueryItem(name: "scope", value: connection.scopes.joined(separator: " "))) }
        if let verifier {
            items += [URLQueryItem(name: "code_challenge", value: Base64URL.encode(Digest.sha256(verifier))),
                      URLQueryItem(name: "code_challenge_method", value: "S256")]
        }
        parts.percentEncodedQuery = items.map { item in Self.queryEncode(item.name) + "=" + Self.queryEncode(item.value ?? "") }
            .joined(separator: "&")
        return parts.string!
    }

    /// RFC 3986 §2.3 unreserved characters as they are, everything else percent-encoded (a space
    /// as `%20`: not every server reads `+` in a query as a space).
    static func queryEncode(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: CharacterSet(charactersIn:
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")) ?? ""
    }

    // MARK: callback

    func callback(_ request: Request, context: AuthRequestContext) async throws -> Response {
        guard let id = context.parameters.get("id"), let client = clients[id] else {
            return failure(status: .notFound, message: "There is no such connection on this server.", code: "unknown_connection")
        }
        let name = client.connection.name
        let query = request.uri.queryParameters
        let now = flow.clock.now()
        let sessionID = flow.cookieValue(.session, in: request)
        guard let stateValue = query.get("state"),
              let started = try await states.consume(state: stateValue, sessionID: sessionID, connectionID: id, now: now)
        else {
            await audit.record(.connectionFailed, outcome: .failure, remoteAddress: context.clientAddress,
                               detail: ["connection": id, "reason": "unknown, expired or foreign state"])
            return failure(message: "This answer from \(name) does not belong to a connection started in this browser, or it has expired. Connect again.",
                           code: "invalid_state")
        }
        let back = started.returnRequest.map { ("/connections/continue?request=\($0)", "Back to the app's request") }
            ?? ("/account", "Back to your account")
        guard let user = try await flow.sessions.user(sessionID: sessionID, now: now), user.id == started.userID else {
            return failure(status: .unauthorized, message: "Your Gatehouse session ended. Sign in and connect \(name) again.",
                           code: "login_required", back: ("/account", "Sign in on your account page"))
        }
        if let error = query.get("error") {
            let code = String(error.prefix(64).filter { $0.isLetter || $0 == "_" })
            await audit.record(.connectionFailed, outcome: .failure, username: user.username, remoteAddress: context.clientAddress,
                               detail: ["connection": id, "reason": "provider error \(code)"])
            let message = code == "access_denied" ? "You did not allow Gatehouse to use your \(name) account." : "\(name) refused the connection (\(code))."
            return failure(message: message, code: code.isEmpty ? "provider_error" : code, back: back)
        }
        guard let code = query.get("code"), !code.isEmpty else {
            return failure(message: "\(name) sent no authorization code.", code: "invalid_request", back: back)
        }
        switch await client.exchange(code: code, redirectURI: redirectURI(id), codeVerifier: started.codeVerifier) {
        case .tokens(let tokens):
            try await store.save(userID: user.id, connectionID: id, tokens: tokens, now: now)
            await audit.record(.connectionMade, username: user.username, remoteAddress: context.clientAddress,
                               detail: ["connection": id])
            guard let pending = started.returnRequest else { return AccountForms.backToAccount("connection-made") }
            return AuthorizationFlow.redirect(to: "/connections/continue?request=\(pending)")
        case .refused(let error):
            await audit.record(.connectionFailed, outcome: .failure, username: user.username, remoteAddress: context.clientAddress,
                               detail: ["connection": id, "reason": "code exchange refused: \(error)"])
            return failure(message: "\(name) did not accept the connection (\(error)). Try connecting again.", code: error, back: back)
        case .failed(let reason):
            await audit.record(.connectionFailed, outcome: .failure, username: user.username, remoteAddress: context.clientAddress,
                               detail: ["connection": id, "reason": reason])
            return failure(status: .badGateway, message: "\(name) could not be reached to finish the connection. Try again in a moment.",
                           code: "temporarily_unavailable", back: back)
        }
    }

    // MARK: back to consent

    /// The consent page of a pending request, after a connect made from it: the request must be
    /// this browser's (`gh_flow`), the person signed in; then the flow goes on as from `/authorize`.
    func continueConsent(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let now = flow.clock.now()
        guard let id = request.uri.queryParameters.get("request"),
              let pending = try await flow.pendingRequests.find(id: id, browserBinding: flow.cookieValue(.flow, in: request), now: now)
        else { return flow.staleFormPage("consent") }
        switch try await flow.client(of: pending) {
        case .refused(let page): return page
        case .found(let client):
            return try await flow.continueFlow(pending, client: client, sessionID: flow.cookieValue(.session, in: request), context: context)
        }
    }

    // MARK: -

    func failure(status: HTTPResponse.Status = .badRequest, message: String, code: String,
                 back: (url: String, text: String) = ("/account", "Back to your account")) -> Response {
        flow.pages.render("connection-error", status: status, [
            "title": "The connection didn't work", "message": message, "code": code, "backURL": back.url, "backText": back.text,
        ])
    }
}
