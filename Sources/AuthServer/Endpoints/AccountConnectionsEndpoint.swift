import Foundation
import Hummingbird
import Shared

/// `POST /account/connections/disconnect`: the account page's Disconnect button (issue 12,
/// "Connections" item 2). Deletes the signed-in person's tokens for one connection and, when the
/// connection has a `revocation_endpoint`, revokes them at the provider (RFC 7009 §2.1: the
/// refresh token, which "SHOULD" also end its access tokens; then the access token). The row is
/// gone whatever the provider answers; tools get the connect link from the next call.
struct AccountConnectionsEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let clients: [String: ConnectionTokenClient]
    let store: UserConnectionStore
    let audit: AuditLog

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/account/connections/disconnect") { request, context in
            try await self.forms.page { try await self.handle(request, context: context) }
        }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form: FormBody, signedIn: AccountForms.SignedIn
        switch try await forms.submission(request, context: context) {
        case .refused(let page): return page
        case .accepted(let body, let person): (form, signedIn) = (body, person)
        }
        guard let id = try form.single("connection"), let client = clients[id] else {
            return forms.badRequest("No connection of this server was named.")
        }
        guard let tokens = try await store.delete(userID: signedIn.user.id, connectionID: id) else {
            return AccountForms.backToAccount("nothing-to-disconnect")
        }
        var revoked = false
        if client.connection.revocationEndpoint != nil {
            if let refresh = tokens.refreshToken { revoked = await client.revoke(refresh, hint: "refresh_token") }
            revoked = await client.revoke(tokens.accessToken, hint: "access_token") || revoked
        }
        await audit.record(.connectionRemoved, username: signedIn.user.username, remoteAddress: context.clientAddress,
                           detail: ["connection": id, "revoked": client.connection.revocationEndpoint == nil ? "no endpoint" : String(revoked)])
        return AccountForms.backToAccount("connection-removed")
    }
}

/// The connections section of the account page and the consent page's "Connect <name>" buttons:
/// what each connection looks like for one person. Pure arrangement of `UserConnectionStore`'s
/// summaries; no token is read.
struct ConnectionPanel: Sendable {
    struct Item: Sendable {
        let id: String
        let name: String
        let status: UserConnectionStore.Status?
        let updatedAt: Date?
    }

    let connections: [ConnectionConfiguration]
    let store: UserConnectionStore

    /// Every configured connection, or those `only` names (a resource's), in the configured order.
    func items(userID: UUID, only: [String]? = nil) async throws -> [Item] {
        let rows = Dictionary(uniqueKeysWithValues: try await store.summaries(userID: userID).map { ($0.connectionID, $0) })
        return connections.filter { only?.contains($0.id) ?? true }.map { connection in
            Item(id: connection.id, name: connection.name, status: rows[connection.id]?.status, updatedAt: rows[connection.id]?.updatedAt)
        }
    }

    /// The consent page's list for a pending request's resource; `return` brings the person back.
    func consentValues(_ items: [Item], pendingID: String) -> [[String: Any]] {
        items.map { item in
            var value: [String: Any] = ["name": item.name, "id": item.id]
            if item.status == .live {
                value["connected"] = true
            } else {
                value["connectURL"] = "/connections/\(item.id)/connect?return=\(pendingID)"
                if item.status == .broken { value["broken"] = true }
            }
            return value
        }
    }

    func accountValues(_ items: [Item]) -> [[String: Any]] {
        items.map { item in
            [
                "id": item.id, "name": item.name, "connectURL": "/connections/\(item.id)/connect",
                "connected": item.status == .live, "broken": item.status == .broken, "stored": item.status != nil,
                "state": item.status == .live ? "connected" : item.status == .broken ? "needs reconnecting" : "not connected",
                "updatedAt": AccountPage.format(item.updatedAt),
            ] as [String: Any]
        }
    }
}
