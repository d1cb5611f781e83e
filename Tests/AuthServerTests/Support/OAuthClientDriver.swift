import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// RFC 7636 §4.1–4.2: verifier = base64url(32 random bytes), challenge = BASE64URL(SHA256(verifier)).
struct PKCE: Sendable {
    let verifier: String
    let challenge: String

    init() {
        verifier = Base64URL.encode(SecureRandom.bytes(32))
        challenge = Base64URL.encode(Digest.sha256(verifier))
    }
}

/// A client as registered through `POST /register`.
struct RegisteredClient: Sendable {
    let id: String
    let secret: String?
    let redirectURI: String
    let authMethod: String
}

/// The tokens of one successful token response.
struct IssuedTokens: Sendable {
    let reply: Reply
    var accessToken: String { reply.json["access_token"] as? String ?? "" }
    var refreshToken: String { reply.json["refresh_token"] as? String ?? "" }
    var scope: String? { reply.json["scope"] as? String }
    var jti: String { (try? JWTParser.parse(accessToken, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self).jti) ?? "" }
}

/// What an MCP client does: register, send the person to /authorize, exchange the code, refresh.
extension TestAuthServer {
    static var publicClientMetadata: [String: Any] { [
        "client_name": "Test Client", "redirect_uris": ["http://127.0.0.1:33418/callback"],
        "grant_types": ["authorization_code", "refresh_token"], "token_endpoint_auth_method": "none",
    ] }

    func register(_ metadata: [String: Any]) async throws -> Reply {
        let body = try JSONSerialization.data(withJSONObject: metadata)
        return try await postJSON("/register", String(decoding: body, as: UTF8.self))
    }

    /// Registers a client (public unless `authMethod` says otherwise); `changes` edit the metadata.
    func registerClient(authMethod: String = "none", _ changes: [String: Any] = [:]) async throws -> RegisteredClient {
        var metadata = Self.publicClientMetadata
        metadata["token_endpoint_auth_method"] = authMethod
        metadata.merge(changes) { $1 }
        let reply = try await register(metadata)
        try #require(reply.status == .created, "registration failed: \(reply.body)")
        let redirect = (metadata["redirect_uris"] as? [String])?.first ?? ""
        return RegisteredClient(id: try #require(reply.json["client_id"] as? String), secret: reply.json["client_secret"] as? String,
                                redirectURI: redirect, authMethod: authMethod)
    }

    /// A complete, valid authorization request; `changes` replace (or, with nil, remove) parameters.
    func authorizeParameters(_ client: RegisteredClient, _ pkce: PKCE, state: String = "state-123",
                             changes: [String: String?] = [:]) -> [(String, String)] {
        var parameters: [(String, String?)] = [
            ("response_type", "code"), ("client_id", client.id), ("redirect_uri", client.redirectURI),
            ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"), ("state", state),
            ("scope", "notes:read notes:write"), ("resource", resource),
        ]
        for (name, value) in changes where !parameters.contains(where: { $0.0 == name }) { parameters.append((name, value)) }
        return parameters.compactMap { name, value in
            let final = changes.keys.contains(name) ? changes[name]! : value
            return final.map { (name, $0) }
        }
    }

    /// Signs in, consents and returns the authorization code.
    func obtainCode(_ client: RegisteredClient, _ pkce: PKCE, browser: inout Browser,
                    changes: [String: String?] = [:]) async throws -> String {
        let reply = try await browser.approve(authorizeParameters(client, pkce, changes: changes))
        try #require(reply.status == .seeOther, "no redirect: \(reply.status) \(reply.body.prefix(300))")
        return try #require(reply.redirectParameters["code"], "no code in \(reply.location ?? "")")
    }

    /// A token request authenticated the way `client` registered.
    func tokenRequest(_ fields: [(String, String)], client: RegisteredClient, path: String = "/token") async throws -> Reply {
        var fields = fields
        var headers: HTTPFields = [:]
        switch client.authMethod {
        case "client_secret_basic":
            let credentials = "\(FormEncoding.escape(client.id)):\(FormEncoding.escape(client.secret ?? ""))"
            headers[.authorization] = "Basic " + Data(credentials.utf8).base64EncodedString()
        case "client_secret_post":
            fields += [("client_id", client.id), ("client_secret", client.secret ?? "")]
        default:
            fields.append(("client_id", client.id))
        }
        return try await postForm(path, fields, headers: headers)
    }

    func exchange(_ code: String, client: RegisteredClient, verifier: String?, redirectURI: String? = nil,
                  extra: [(String, String)] = []) async throws -> Reply {
        var fields = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI ?? client.redirectURI)]
        if let verifier { fields.append(("code_verifier", verifier)) }
        return try await tokenRequest(fields + extra, client: client)
    }

    /// The whole flow: code, then tokens.
    func issueTokens(_ client: RegisteredClient, browser: inout Browser, changes: [String: String?] = [:]) async throws -> IssuedTokens {
        let pkce = PKCE()
        let code = try await obtainCode(client, pkce, browser: &browser, changes: changes)
        let reply = try await exchange(code, client: client, verifier: pkce.verifier)
        try #require(reply.status == .ok, "token exchange failed: \(reply.body)")
        return IssuedTokens(reply: reply)
    }

    func refresh(_ token: String, client: RegisteredClient, scope: String? = nil) async throws -> Reply {
        var fields = [("grant_type", "refresh_token"), ("refresh_token", token)]
        if let scope { fields.append(("scope", scope)) }
        return try await tokenRequest(fields, client: client)
    }
}
