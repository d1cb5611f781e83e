import Foundation
import Hummingbird
import Shared

/// `POST /account/apps/revoke`: the account page's Revoke button. Ends, for the signed-in person
/// only, everything one app holds, in the one transaction `users revoke-grants U --client C` uses
/// (UserGrantStore): its token families are revoked (its refresh tokens get `invalid_grant`, the
/// resource servers refuse its access tokens within a second), its codes not yet exchanged are
/// deleted and the remembered consent is forgotten, so reconnecting asks the person again.
struct AccountGrantsEndpoint: AuthServerEndpoint {
    let forms: AccountForms
    let grants: UserGrantStore
    let audit: AuditLog

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/account/apps/revoke") { request, context in
            try await self.forms.page { try await self.handle(request, context: context) }
        }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form: FormBody, signedIn: AccountForms.SignedIn
        switch try await forms.submission(request, context: context) {
        case .refused(let page): return page
        case .accepted(let body, let person): (form, signedIn) = (body, person)
        }
        guard let clientID = try form.single("client_id"), clientID.count <= 512 else {
            return forms.badRequest("No app was named.")
        }
        let username = signedIn.user.username
        let revoked = try await grants.revokeGrants(ofUsername: username, client: clientID,
                                                    reason: "grant revoked by the user on the account page") ?? 0
        await audit.record(.tokenFamilyRevoked, username: username, clientID: clientID, remoteAddress: context.clientAddress,
                           detail: ["families": String(revoked), "via": "account"])
        return AccountForms.backToAccount(revoked > 0 ? "app-revoked" : "nothing-to-revoke")
    }
}
