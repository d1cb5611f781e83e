import Foundation
import Hummingbird
import NIOCore
import Shared

/// RFC 8414 authorization-server metadata, served at `/.well-known/oauth-authorization-server`
/// and, identically, at `/.well-known/openid-configuration` (MCP 2025-11-25 clients try both).
/// For an issuer with a path, RFC 8414 §3.1 inserts the well-known segment before the path, and
/// OIDC appends it; both variants are routed by `buildAuthServer`.
struct MetadataEndpoint: Sendable {
    let document: ByteBuffer

    init(env: AuthServerEnvironment) throws {
        var metadata: [String: Any] = [
            "issuer": env.issuer,
            "authorization_endpoint": env.endpoint("/authorize"),
            "token_endpoint": env.endpoint("/token"),
            "registration_endpoint": env.endpoint("/register"),
            "jwks_uri": env.endpoint("/jwks.json"),
            "revocation_endpoint": env.endpoint("/revoke"),
            "introspection_endpoint": env.endpoint("/introspect"),
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
            "scopes_supported": env.configuration.resources.grantableNames,
            "authorization_response_iss_parameter_supported": true,
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            // OpenID Connect Discovery §3: the ID token and userinfo (Tokens/IDTokenClaims.swift).
            "userinfo_endpoint": env.endpoint("/userinfo"),
            "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                                 "email", "email_verified", "name", "preferred_username"],
            "resource_indicators_supported": true,
        ]
        // draft-ietf-oauth-client-id-metadata-document-00 §5; advertised only when it works:
        // clients (Claude, ChatGPT, the Python SDK) switch to CIMD as soon as they see it.
        if env.configuration.clientMetadataDocuments {
            metadata["client_id_metadata_document_supported"] = true
        }
        document = ByteBuffer(bytes: try JSONSerialization.data(
            withJSONObject: metadata, options: [.sortedKeys, .withoutEscapingSlashes, .prettyPrinted]))
    }

    func handle(_ request: Request, context: AuthRequestContext) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=3600"],
                 body: .init(byteBuffer: document))
    }
}
