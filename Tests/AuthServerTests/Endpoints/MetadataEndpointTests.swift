import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// RFC 8414 authorization-server metadata, the JWKS, and which endpoints answer CORS.
@Suite(.serialized) struct MetadataEndpointTests {
    @Test("RFC 8414 §3 and MCP 2025-11-25: both well-known URLs serve the identical document, over real HTTP")
    func bothWellKnownURLsAreIdentical() async throws {
        try await TestAuthServer.run(.live) { server in
            let oauth = try await server.get("/.well-known/oauth-authorization-server")
            let openid = try await server.get("/.well-known/openid-configuration")
            #expect(oauth.status == .ok && openid.status == .ok)
            #expect(oauth.headers[.contentType] == "application/json")
            #expect(oauth.body == openid.body)
        }
    }

    @Test("RFC 8414 §3.3: issuer is byte-identical to the configured one, without a trailing slash")
    func issuerIsByteExact() async throws {
        try await TestAuthServer.run { server in
            let metadata = try await server.get("/.well-known/oauth-authorization-server")
            #expect(metadata.json["issuer"] as? String == "http://localhost:9000")
            #expect(metadata.body.contains(#""issuer" : "http://localhost:9000""#) || metadata.body.contains(#""issuer":"http://localhost:9000""#))
            #expect(!metadata.body.contains("http://localhost:9000/\""))
        }
    }

    @Test("RFC 8414 §2 and OAuth 2.1: every field the MCP clients read, with the values we support")
    func everyFieldIsListed() async throws {
        try await TestAuthServer.run { server in
            let json = try await server.get("/.well-known/oauth-authorization-server").json
            let base = "http://localhost:9000"
            #expect(json["authorization_endpoint"] as? String == base + "/authorize")
            #expect(json["token_endpoint"] as? String == base + "/token")
            #expect(json["registration_endpoint"] as? String == base + "/register")
            #expect(json["jwks_uri"] as? String == base + "/jwks.json")
            #expect(json["revocation_endpoint"] as? String == base + "/revoke")
            #expect(json["introspection_endpoint"] as? String == base + "/introspect")
            #expect(json["response_types_supported"] as? [String] == ["code"])
            #expect(json["grant_types_supported"] as? [String] == ["authorization_code", "refresh_token", TokenExchangeGrant.grantType])
            // OAuth 2.1 §4.1.1: plain is not offered.
            #expect(json["code_challenge_methods_supported"] as? [String] == ["S256"])
            let methods = ["none", "client_secret_basic", "client_secret_post", "private_key_jwt"]
            #expect(json["token_endpoint_auth_methods_supported"] as? [String] == methods)
            #expect(json["revocation_endpoint_auth_methods_supported"] as? [String] == methods)
            // RFC 8414 §2: with private_key_jwt, the (asymmetric only) algorithms are listed.
            #expect(json["token_endpoint_auth_signing_alg_values_supported"] as? [String] == ["RS256", "PS256", "ES256"])
            #expect(json["introspection_endpoint_auth_methods_supported"] as? [String] == ["client_secret_basic", "client_secret_post"])
            // RFC 9207 §3.
            #expect(json["authorization_response_iss_parameter_supported"] as? Bool == true)
            #expect(json["scopes_supported"] as? [String] == ScopeCatalog.grantableNames)
            #expect(json["response_modes_supported"] as? [String] == ["query"])
        }
    }

    @Test("RFC 7517 §5: the JWKS is cacheable and carries public members only")
    func jwksIsCacheableAndPublic() async throws {
        try await TestAuthServer.run(.live) { server in
            let reply = try await server.get("/jwks.json")
            #expect(reply.status == .ok)
            #expect(reply.headers[.cacheControl]?.contains("max-age=\(JWKSEndpoint.maxAge)") == true)
            let keys = try #require(reply.json["keys"] as? [[String: Any]])
            #expect(!keys.isEmpty)
            for key in keys {
                #expect(key["kty"] as? String == "RSA")
                #expect(key["kid"] is String && key["n"] is String && key["e"] is String)
                // RFC 7518 §6.3.2: the private members.
                for member in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] { #expect(key[member] == nil, "\(member) published") }
            }
        }
    }

    @Test("CORS: preflights on /token and /register answer 204 with Access-Control-Allow-Origin * and no authentication")
    func preflightsAreAnsweredWithoutAuthentication() async throws {
        try await TestAuthServer.run(.live) { server in
            for path in ["/token", "/register", "/revoke", "/jwks.json", "/.well-known/oauth-authorization-server"] {
                let reply = try await server.send(.options, path, headers: [
                    .origin: "http://localhost:6274", .accessControlRequestMethod: "POST",
                    .accessControlRequestHeaders: "content-type, authorization",
                ])
                #expect(reply.status == .noContent, "\(path)")
                #expect(reply.headers[.accessControlAllowOrigin] == "*", "\(path)")
                #expect(reply.headers[.accessControlAllowMethods]?.contains("POST") == true, "\(path)")
                #expect(reply.headers[.accessControlAllowHeaders]?.lowercased().contains("authorization") == true, "\(path)")
                #expect(reply.headers[.accessControlAllowCredentials] == nil, "\(path)")
            }
        }
    }

    @Test("CORS: an error from /token still carries Access-Control-Allow-Origin so a browser client can read it")
    func corsOnErrors() async throws {
        try await TestAuthServer.run { server in
            let reply = try await server.postForm("/token", [("grant_type", "password")], headers: [.origin: "http://localhost:6274"])
            #expect(reply.status == .badRequest && reply.error == "unsupported_grant_type")
            #expect(reply.headers[.accessControlAllowOrigin] == "*")
        }
    }

    @Test("CORS: /authorize is a navigation and gets no CORS header")
    func authorizeHasNoCORS() async throws {
        try await TestAuthServer.run { server in
            let reply = try await server.get("/authorize?client_id=nobody", headers: [.origin: "http://localhost:6274"])
            #expect(reply.headers[.accessControlAllowOrigin] == nil)
            let preflight = try await server.send(.options, "/authorize", headers: [.origin: "http://localhost:6274"])
            #expect(preflight.headers[.accessControlAllowOrigin] == nil)
            let login = try await server.send(.options, "/login", headers: [.origin: "http://localhost:6274"])
            #expect(login.headers[.accessControlAllowOrigin] == nil)
        }
    }
}
