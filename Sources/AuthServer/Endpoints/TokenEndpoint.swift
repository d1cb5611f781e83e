import Foundation
import Hummingbird
import NIOCore
import Shared

/// `POST /token` (OAuth 2.1 §3.2): authenticates the client, then dispatches on `grant_type`.
struct TokenEndpoint: Sendable {
    let env: AuthServerEnvironment
    let authenticator: ClientAuthenticator
    /// Every grant this server supports, built in one place.
    let grants: [String: any Grant]

    init(env: AuthServerEnvironment) {
        self.env = env
        self.authenticator = ClientAuthenticator(clients: env.clientResolver, assertions: env.clientAssertions)
        let all: [any Grant] = [AuthorizationCodeGrant(env: env), RefreshTokenGrant(env: env), TokenExchangeGrant(env: env)]
        self.grants = Dictionary(uniqueKeysWithValues: all.map { (type(of: $0).grantType, $0) })
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
        return try Self.json(response)
    }

    /// RFC 6749 §5.1: "The authorization server MUST include the HTTP Cache-Control response
    /// header field with a value of no-store in any response containing tokens".
    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: status,
                        headers: [.contentType: "application/json", .cacheControl: "no-store", .pragma: "no-cache"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
    }
}
