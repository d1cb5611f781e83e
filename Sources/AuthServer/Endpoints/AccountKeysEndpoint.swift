import Foundation
import Hummingbird
import Shared

/// `POST /account/keys` and `POST /account/keys/revoke`: a person's own API keys (issue 13 item 2,
/// "a person creates a key on the account page"). The checks are those of `tokens create`: the
/// resource must be configured and the scopes must be its own (`TokensCommand.resolve`), the key
/// always expires (7, 30, 90 or 365 days here), a disabled user gets none. The key is shown once,
/// on the page that answers the POST (`Cache-Control: no-store`); only its hash is kept.
struct AccountKeysEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let apiKeys: APIKeyStore
    /// `GATEHOUSE_API_KEYS=false`: creating is refused (revoking an old key still works).
    let apiKeysEnabled: Bool
    let resources: ProtectedResourceCatalog
    let audit: AuditLog

    static let lifetimesInDays = [7, 30, 90, 365]

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/account/keys") { request, context in
            try await self.forms.page { try await self.create(request, context: context) }
        }
        router.post("/account/keys/revoke") { request, context in
            try await self.forms.page { try await self.revoke(request, context: context) }
        }
    }

    func create(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form: FormBody, signedIn: AccountForms.SignedIn
        switch try await forms.submission(request, context: context) {
        case .refused(let page): return page
        case .accepted(let body, let person): (form, signedIn) = (body, person)
        }
        guard apiKeysEnabled else {
            return forms.errorPage(heading: "API keys are switched off",
                                   message: "This server does not accept API keys, so none can be created.", status: .forbidden)
        }
        guard let name = try form.single("name")?.trimmingCharacters(in: .whitespaces), !name.isEmpty, name.count <= 200,
              !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
        else { return forms.badRequest("Give the key a name of 1 to 200 characters.") }
        guard let days = try form.single("expires").flatMap(Int.init), Self.lifetimesInDays.contains(days) else {
            return forms.badRequest("Choose when the key expires: after 7, 30, 90 or 365 days.")
        }
        let resource = try form.single("resource") ?? ""
        let target: ProtectedResourceCatalog.Resource, scopes: ScopeSet
        do {
            (target, scopes) = try TokensCommand.resolve(resource: resource, scopes: form.values["scope"] ?? [], in: resources)
        } catch {
            return forms.badRequest(Self.wording(error.message))
        }
        let now = forms.flow.clock.now()
        let new = APIKeyStore.NewKey(username: signedIn.user.username, name: name, clientLabel: TokensCommand.defaultClientLabel,
                                     resource: target.identifier.value, scope: scopes,
                                     expiresAt: now.addingTimeInterval(TimeInterval(days) * 86_400))
        guard case .created(let record, let key) = try await apiKeys.create(new, now: now) else {
            return forms.errorPage(heading: "No key was created", message: "Your account cannot hold API keys at the moment.",
                                   status: .forbidden)
        }
        await audit.record(.apiKeyCreated, username: record.username, remoteAddress: context.clientAddress, detail: [
            "api_key": record.id.uuidString.lowercased(), "resource": record.resource, "scope": record.scope.description,
            "via": "account",
        ])
        return forms.flow.pages.render("api-key-created", [
            "title": "Your new API key", "key": key, "name": name, "resource": record.resource,
            "scopes": record.scope.tokens, "expiresAt": AccountPage.format(record.expiresAt),
        ])
    }

    func revoke(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form: FormBody, signedIn: AccountForms.SignedIn
        switch try await forms.submission(request, context: context) {
        case .refused(let page): return page
        case .accepted(let body, let person): (form, signedIn) = (body, person)
        }
        // Someone else's key is answered exactly like a key that does not exist.
        guard let id = try form.single("key_id").flatMap(UUID.init(uuidString:)),
              let key = try await apiKeys.find(id: id), key.userID == signedIn.user.id
        else { return forms.badRequest("There is no such key on your account.") }
        if try await apiKeys.revoke(id: id, now: forms.flow.clock.now()) == .revoked {
            await audit.record(.apiKeyRevoked, username: key.username, remoteAddress: context.clientAddress,
                               detail: ["api_key": id.uuidString.lowercased(), "via": "account"])
        }
        return AccountForms.backToAccount("key-revoked")
    }

    /// `tokens create`'s messages speak of options; the page has a select and checkboxes.
    static func wording(_ message: String) -> String {
        message == "at least one --scope is required" ? "Tick at least one scope." : message.prefix(1).uppercased() + message.dropFirst() + "."
    }
}
