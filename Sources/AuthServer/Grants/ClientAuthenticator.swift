import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// Client authentication at the token, revocation and introspection endpoints, by the method
/// the client registered (RFC 6749 §2.3.1, RFC 7591 §2 `token_endpoint_auth_method`).
struct ClientAuthenticator: Sendable {
    let clients: ClientResolver

    func authenticate(_ request: Request, form: FormBody) async throws -> Client {
        let basic = try Self.basicCredentials(request)
        let formClientID = try form.single("client_id")
        let formSecret = try form.single("client_secret")
        // RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
        if basic != nil && formSecret != nil {
            throw OAuthError.invalidRequest("use either HTTP Basic or client_secret in the body, not both")
        }
        guard let clientID = basic?.id ?? formClientID else {
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
        let presented = basic?.secret ?? formSecret
        switch client.authMethod {
        case .none:
            // A public client proves nothing with a secret; one that sends one is confused.
            guard presented == nil else { throw OAuthError.invalidClient("this client is public and has no secret") }
        case .clientSecretBasic, .clientSecretPost:
            guard let presented, let stored = client.secretHash,
                  constantTimeEquals(Digest.sha256(presented), stored)
            else { throw OAuthError.invalidClient("client authentication failed", basicAuthChallenge: basic != nil) }
            if (client.authMethod == Client.AuthMethod.clientSecretBasic && basic == nil)
                || (client.authMethod == Client.AuthMethod.clientSecretPost && basic != nil) {
                throw OAuthError.invalidClient("use the registered token_endpoint_auth_method \(client.authMethod.rawValue)")
            }
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
