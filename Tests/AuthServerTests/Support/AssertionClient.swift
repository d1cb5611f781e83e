import Foundation
import Shared
@testable import AuthServer

/// A `private_key_jwt` client in tests: its id, redirect URI and the key it signs assertions with.
struct AssertionClient: Sendable {
    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

    let id: String
    let redirectURI: String
    let key: ClientKeyPair

    var registered: RegisteredClient { RegisteredClient(id: id, secret: nil, redirectURI: redirectURI, authMethod: "private_key_jwt") }

    /// RFC 7523 §3 claims: iss = sub = client_id, aud = the token endpoint, exp two minutes ahead,
    /// a fresh jti. `changes` replace (or, with nil, remove) claims.
    func claims(now: Int, changes: [String: Any?] = [:]) -> [String: Any] {
        var claims: [String: Any] = [
            "iss": id, "sub": id, "aud": AuthServerFixture.issuer + "/token", "iat": now, "exp": now + 120,
            "jti": UUID().uuidString,
        ]
        for (name, value) in changes { claims[name] = value }
        return claims
    }

    func assertion(now: Int, changes: [String: Any?] = [:], header: [String: Any] = [:], signer: ClientKeyPair? = nil) throws -> String {
        try (signer ?? key).sign(claims(now: now, changes: changes), header: header)
    }

    /// The client-authentication fields of a token request.
    func fields(_ assertion: String) -> [(String, String)] {
        [("client_id", id), ("client_assertion_type", Self.assertionType), ("client_assertion", assertion)]
    }
}

extension TestAuthServer {
    func postToken(_ fields: [(String, String)], as client: AssertionClient, assertion: String) async throws -> Reply {
        try await postForm("/token", fields + client.fields(assertion))
    }

    /// Signs in and consents with `client`, then exchanges the code with a fresh assertion.
    func issueTokens(_ client: AssertionClient) async throws -> Reply {
        var browser = Browser(self)
        let pkce = PKCE()
        let code = try await obtainCode(client.registered, pkce, browser: &browser)
        return try await postToken([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", client.redirectURI),
                                    ("code_verifier", pkce.verifier)], as: client, assertion: try client.assertion(now: clock.seconds))
    }
}

extension DocumentServer {
    /// Publishes the ChatGPT client metadata document (issue 9 A.1, verbatim but for the URLs of
    /// this server) and its JWKS; returns the client.
    func publishChatGPT(key: ClientKeyPair, redirectURI: String = "https://chatgpt.com/connector_platform_oauth_redirect",
                        changes: [String: Any?] = [:]) throws -> AssertionClient {
        let base = String(uniquePath("oauth").dropLast("/oauth".count))
        let clientID = origin + base + "/oauth/client.json"
        let jwksPath = base + "/oauth/jwks.json"
        var document: [String: Any] = [
            "client_id": clientID, "client_uri": origin + "/",
            "redirect_uris": [redirectURI],
            "token_endpoint_auth_method": "private_key_jwt",
            "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "client_name": "ChatGPT", "logo_uri": "https://persistent.oaistatic.com/sonic/misc/openai-logo.png",
            "token_endpoint_auth_signing_alg": key.algorithm.rawValue, "jwks_uri": origin + jwksPath,
        ]
        for (name, value) in changes { document[name] = value }
        let body = try JSONSerialization.data(withJSONObject: document, options: [.withoutEscapingSlashes])
        publish(base + "/oauth/client.json", Document(body: String(decoding: body, as: UTF8.self)))
        publish(jwksPath, Document(cacheControl: "max-age=300", body: try key.jwksJSON))
        return AssertionClient(id: clientID, redirectURI: redirectURI, key: key)
    }

    func jwksPath(of client: AssertionClient) -> String {
        String(client.id.dropFirst(origin.count).dropLast("client.json".count)) + "jwks.json"
    }
}
