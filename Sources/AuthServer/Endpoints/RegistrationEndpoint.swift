import Foundation
import Hummingbird
import NIOCore
import Shared

/// `POST /register`: dynamic client registration (RFC 7591), open to anyone, as MCP clients expect.
///
/// RFC 7591 §3.2.1: the response echoes the registered metadata; a `client_secret` is returned
/// once, for confidential clients only, and stored only as a hash. A client that asks for `none`
/// gets no secret (a secret would make some SDKs switch to Basic auth).
struct RegistrationEndpoint: AuthServerEndpoint {
    let clients: ClientStore
    let audit: AuditLog
    let metrics: AuthMetrics
    let clock: Clock
    /// Every scope a client may register: the OpenID scopes and each configured resource's.
    let grantableScopes: [String]
    /// GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR, per source network, for valid registrations.
    var rateLimit: RateLimitGate? = nil
    /// GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW; 0 counts no duplicates.
    var duplicateWindow: TimeInterval = 0

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.post("/register") { request, context in try await self.handle(request, context: context) }
    }

    struct Answer: Encodable {
        var client_id: String
        var client_secret: String?
        var client_id_issued_at: Int
        var client_secret_expires_at: Int?
        var client_name: String?
        var client_uri: String?
        var redirect_uris: [String]
        var grant_types: [String]
        var response_types: [String]
        var token_endpoint_auth_method: String
        var scope: String
        var application_type: String
        /// `private_key_jwt` clients: their keys and algorithm, echoed (RFC 7591 §3.2.1).
        var jwks_uri: String?
        var jwks: JWKS?
        var token_endpoint_auth_signing_alg: String?
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        // RFC 7591 §3.1: "the client sends an HTTP POST to the client registration endpoint with a
        // content type of "application/json"". Anything else is refused before it is parsed.
        guard Self.isJSON(request.headers[.contentType]) else {
            throw OAuthError(.invalidClientMetadata, status: .unsupportedMediaType,
                             "the registration body must be sent as Content-Type: application/json")
        }
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: ClientRegistrationRequest.maxBodyBytes) } catch {
            throw OAuthError(.invalidClientMetadata, status: .contentTooLarge, "the registration body is too large")
        }
        let raw = Array(buffer: body)
        let registration = try ClientRegistrationRequest(json: raw, grantableScopes: grantableScopes)
        let now = clock.now()
        // After validation, so invalid metadata still gets invalid_client_metadata: only a
        // registration that would be made counts against its network's hourly budget.
        let source = RegistrationSource(body: raw, clientAddress: context.clientAddress, now: now, duplicateWindow: duplicateWindow)
        if let limited = try await rateLimit?.check(key: source.network, now: now, remoteAddress: context.clientAddress) {
            throw limited
        }
        // Only the client_secret_* methods use a secret; `private_key_jwt` proves itself with its key.
        let secret = [.none, .privateKeyJWT].contains(registration.authMethod) ? nil : SecureRandom.token()
        let client = Client(
            clientID: SecureRandom.token(byteCount: 18), authMethod: registration.authMethod,
            secretHash: secret.map { Digest.sha256($0) }, name: registration.name, clientURI: registration.clientURI,
            redirectURIs: registration.redirectURIs, grantTypes: registration.grantTypes, scope: registration.scope,
            applicationType: registration.applicationType, registrationKind: "dynamic", createdAt: now,
            jwksURI: registration.keys.jwksURI, jwks: registration.keys.jwks, signingAlgorithm: registration.keys.signingAlgorithm)
        let duplicate = try await clients.insert(client, source: source)
        metrics.registrations.increment()
        if duplicate { metrics.duplicateRegistrations.increment() }
        await audit.record(.clientRegistered, clientID: client.clientID, remoteAddress: context.clientAddress,
                               detail: ["client_name": String((client.name ?? "").prefix(100)), "duplicate": String(duplicate),
                                        "redirect_uris": client.redirectURIs.joined(separator: " ").prefix(500).description])
        let answer = Answer(
            client_id: client.clientID, client_secret: secret, client_id_issued_at: Int(now.timeIntervalSince1970),
            client_secret_expires_at: secret == nil ? nil : 0, client_name: client.name, client_uri: client.clientURI,
            redirect_uris: client.redirectURIs, grant_types: client.grantTypes, response_types: ["code"],
            token_endpoint_auth_method: client.authMethod.rawValue, scope: client.defaultScope.description,
            application_type: client.applicationType, jwks_uri: client.jwksURI, jwks: client.jwks,
            token_endpoint_auth_signing_alg: client.signingAlgorithm?.rawValue)
        return try JSONResponse.noStore(answer, status: .created)
    }

    /// `application/json`, with or without parameters such as `charset=utf-8`, in any case.
    static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map(String.init) ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }
}
