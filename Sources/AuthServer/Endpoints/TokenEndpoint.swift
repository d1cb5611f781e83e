import Foundation
import Hummingbird
import NIOCore
import Shared

/// `POST /token` (OAuth 2.1 §3.2): authenticates the client, then dispatches on `grant_type`.
struct TokenEndpoint: AuthServerEndpoint {
    let authenticator: ClientAuthenticator
    /// Every grant this server supports, by `grant_type`.
    let grants: [String: any Grant]
    /// Stamps the client's `last_used_at` after a success, for reaping of unused clients.
    let usage: ClientUsageRecorder?

    init(authenticator: ClientAuthenticator, grants: [any Grant], usage: ClientUsageRecorder? = nil) {
        self.authenticator = authenticator
        self.usage = usage
        self.grants = Dictionary(uniqueKeysWithValues: grants.map { (type(of: $0).grantType, $0) })
    }

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/token") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let form = try await FormBody(request: request, context: context)
        guard let grantType = try form.single("grant_type") else {
            throw OAuthError.invalidRequest("grant_type is required")
        }
        guard let grant = grants[grantType] else {
            throw OAuthError(.unsupportedGrantType, "grant_type \(grantType.prefix(64)) is not supported")
        }
        let client = try await authenticator.authenticate(request, form: form)
        let response = try await grant.handle(form: form, client: client, context: context)
        await usage?.recordUse(of: client.clientID)
        return try JSONResponse.noStore(response)
    }
}
