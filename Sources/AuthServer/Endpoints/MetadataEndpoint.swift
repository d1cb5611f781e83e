import Foundation
import Hummingbird
import NIOCore
import Shared

/// RFC 8414 authorization-server metadata, served at `/.well-known/oauth-authorization-server`
/// and, identically, at `/.well-known/openid-configuration` (MCP 2025-11-25 clients try both).
/// For an issuer with a path, RFC 8414 §3.1 inserts the well-known segment before the path, and
/// OIDC appends it; `paths` lists every variant.
struct MetadataEndpoint: AuthServerEndpoint {
    let document: ByteBuffer
    let paths: [String]

    init(issuer: String, clientMetadataDocuments: Bool, scopesSupported: [String]) throws {
        var metadata: [String: Any] = [
            "issuer": issuer,
            "authorization_endpoint": issuer + "/authorize",
            "token_endpoint": issuer + "/token",
            "registration_endpoint": issuer + "/register",
            "jwks_uri": issuer + "/jwks.json",
            "revocation_endpoint": issuer + "/revoke",
            "introspection_endpoint": issuer + "/introspect",
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "refresh_token", TokenExchangeGrant.grantType],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": Client.AuthMethod.allCases.map(\.rawValue),
            "revocation_endpoint_auth_methods_supported": Client.AuthMethod.allCases.map(\.rawValue),
            // RFC 8414 §2: required when private_key_jwt is listed; asymmetric only, never "none".
            "token_endpoint_auth_signing_alg_values_supported": JWSAlgorithm.allCases.map(\.rawValue),
            "revocation_endpoint_auth_signing_alg_values_supported": JWSAlgorithm.allCases.map(\.rawValue),
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            // Every resource's scopes (the config file's), and the OpenID ones; no offline_access (ProtectedResources.swift).
            "scopes_supported": scopesSupported,
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            // OpenID Connect Discovery §3: the ID token and userinfo (Tokens/IDTokenClaims.swift).
            "userinfo_endpoint": issuer + "/userinfo",
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                                 "email", "email_verified", "name", "preferred_username"],
            "resource_indicators_supported": true,
        ]
        // draft-ietf-oauth-client-id-metadata-document-00 §5; advertised only when it works:
        // clients (Claude, ChatGPT, the Python SDK) switch to CIMD as soon as they see it.
        if clientMetadataDocuments {
            metadata["client_id_metadata_document_supported"] = true
        }
        document = ByteBuffer(bytes: try JSONSerialization.data(
            withJSONObject: metadata, options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]))
        paths = Self.paths(issuer: issuer)
    }

    /// Path-inserted (RFC 8414 §3.1) and path-appended (OIDC) variants for an issuer with a path.
    static func paths(issuer: String) -> [String] {
        let issuerPath = URLComponents(string: issuer)?.path ?? ""
        var paths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
        if !issuerPath.isEmpty {
            paths += ["/.well-known/oauth-authorization-server\(issuerPath)", "/.well-known/openid-configuration\(issuerPath)",
                      "\(issuerPath)/.well-known/openid-configuration"]
        }
        return paths
    }

    func addRoutes(to router: Router<AuthRequestContext>) {
        for path in paths {
            router.get(RouterPath(path)) { _, _ in JSONResponse.cacheable(bytes: self.document, maxAge: 3600) }
        }
    }
}
