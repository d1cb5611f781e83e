import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// Client authentication at the token, revocation and introspection endpoints, by the method
/// the client registered (RFC 6749 §2.3.1, RFC 7591 §2 `token_endpoint_auth_method`), including
/// `private_key_jwt` (RFC 7523 §2.2). A client is held to its method: one that registered
/// `private_key_jwt` must present an assertion, and nothing else is accepted instead.
struct ClientAuthenticator: Sendable {
    let clients: ClientResolver
    let assertions: ClientAssertionVerifier

    func authenticate(_ request: Request, form: FormBody) async throws -> Client {
        let basic = try Self.basicCredentials(request)
        let formClientID = try form.single("client_id")
        let formSecret = try form.single("client_secret")
        let assertionType = try form.single("client_assertion_type")
        let assertion = try form.single("client_assertion")
        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
        let methodsUsed = [basic != nil, formSecret != nil, assertion != nil || assertionType != nil].filter { $0 }.count
        if methodsUsed > 1 {
            throw OAuthError.invalidRequest("use one client authentication method: HTTP Basic, client_secret or client_assertion")
        }
        if assertionType != nil, assertion == nil {
            throw OAuthError.invalidClient("client_assertion_type without client_assertion")
        }
        // RFC 7521 §4.2: with an assertion, "client_id" is optional; the assertion's sub names the client.
        guard let clientID = basic?.id ?? formClientID ?? assertion.flatMap(ClientAssertionVerifier.unverifiedSubject) else {
            throw OAuthError.invalidClient("client authentication failed: no client_id")
        }
        if let basic, let formClientID, formClientID != basic.id {
            throw OAuthError.invalidRequest("client_id in the body differs from the Authorization header")
        }
        // An unknown or deleted client gets 401 invalid_client: Claude re-registers on that. So
        // does a client whose metadata document cannot be fetched or validated (the resolver throws).
        guard let client = try await clients.find(clientID) else {
            throw OAuthError.invalidClient("unknown client", basicAuthChallenge: basic != nil)
        }
        if client.authMethod != .privateKeyJWT, assertion != nil {
            throw OAuthError.invalidClient("this client does not use private_key_jwt")
        }
        let presented = basic?.secret ?? formSecret
        switch client.authMethod {
        case .none:
            // A public client proves nothing with a secret; one that sends one is confused.
            guard presented == nil else { throw OAuthError.invalidClient("this client is public and has no secret") }
        case .clientSecretBasic, .clientSecretPost:
            guard let presented, let stored = client.secretHash,
                  constantTimeEquals(Digest.sha256(presented), stored)
            else { throw OAuthError.invalidClient("client authentication failed", basicAuthChallenge: basic != nil) }
            // A pre-registered client's secret was typed into the client, which picks basic or
            // post itself (Claude's "Advanced settings"): either is accepted from it.
            if !client.isPreregistered, (client.authMethod == Client.AuthMethod.clientSecretBasic && basic == nil)
                || (client.authMethod == Client.AuthMethod.clientSecretPost && basic != nil) {
                throw OAuthError.invalidClient("use the registered token_endpoint_auth_method \(client.authMethod.rawValue)")
            }
        case .privateKeyJWT:
            // No silent downgrade: without its assertion this client is not authenticated at all.
            guard let assertion else {
                throw OAuthError.invalidClient("this client authenticates with private_key_jwt: client_assertion is required",
                                               basicAuthChallenge: basic != nil)
            }
            try await assertions.verify(assertion, type: assertionType, client: client)
        }
        return client
    }

    /// RFC 6749 §2.3.1: client_id and secret are form-urlencoded, then joined with ':' and base64'd.
    static func basicCredentials(_ request: Request) throws -> (id: String, secret: String)? {
        guard let header = request.headers[.authorization] else { return nil }
        guard header.count > 6, header.prefix(6).lowercased() == "basic " else {
            throw OAuthError.invalidClient("unsupported Authorization scheme", basicAuthChallenge: true)
        }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
              let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { throw OAuthError.invalidClient("malformed Basic credentials", basicAuthChallenge: true) }
        let id = String(text[..<colon]), secret = String(text[text.index(after: colon)...])
        return (id.removingPercentEncoding ?? id, secret.removingPercentEncoding ?? secret)
    }
}
