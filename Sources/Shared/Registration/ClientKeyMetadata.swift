import Foundation

/// The keys a `private_key_jwt` client authenticates with, from its registration or metadata
/// document. RFC 7591 §2: "jwks_uri: URL string referencing the client's JSON Web Key (JWK) Set
/// [RFC7517] document, which contains the client's public keys"; "jwks: Client's JSON Web Key Set
/// [RFC7517] document value"; "The "jwks_uri" and "jwks" parameters MUST NOT both be present in
/// the same request or response." For any other method both are ignored.
public struct ClientKeyMetadata: Sendable {
    public static let maxInlineKeys = 10

    public let jwksURI: String?
    public let jwks: JWKS?
    /// RFC 7591 §2 `token_endpoint_auth_signing_alg`: "All Token requests using these methods from
    /// this client MUST be rejected if the JWT is not signed with this algorithm."
    public let signingAlgorithm: JWSAlgorithm?

    public init(metadata object: [String: Any], authMethod: Client.AuthMethod) throws(OAuthError) {
        guard authMethod == .privateKeyJWT else {
            (jwksURI, jwks, signingAlgorithm) = (nil, nil, nil)
            return
        }
        let uri = object["jwks_uri"].flatMap { $0 is NSNull ? nil : $0 }
        let set = object["jwks"].flatMap { $0 is NSNull ? nil : $0 }
        switch (uri, set) {
        case (nil, nil):
            throw OAuthError(.invalidClientMetadata, "private_key_jwt needs jwks_uri or jwks")
        case (.some, .some):
            throw OAuthError(.invalidClientMetadata, "jwks_uri and jwks must not both be present")
        case (let uri?, nil):
            jwksURI = try Self.validatedURI(uri)
            jwks = nil
        case (nil, let set?):
            jwksURI = nil
            jwks = try Self.validatedSet(set)
        }
        if let value = object["token_endpoint_auth_signing_alg"], !(value is NSNull) {
            guard let name = value as? String, let algorithm = JWSAlgorithm(rawValue: name) else {
                throw OAuthError(.invalidClientMetadata, "token_endpoint_auth_signing_alg must be one of \(Self.algorithmNames)")
            }
            signingAlgorithm = algorithm
        } else {
            signingAlgorithm = nil
        }
    }

    public static let algorithmNames = JWSAlgorithm.allCases.map(\.rawValue).joined(separator: ", ")

    /// An absolute https URL (http only to a loopback host, which the fetcher then refuses unless
    /// GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK is set) without credentials or fragment. Where it
    /// points is checked when it is fetched, by the same rules as a metadata document.
    private static func validatedURI(_ value: Any) throws(OAuthError) -> String {
        guard let text = value as? String, text.count <= ClientMetadataDocument.maxClientIDLength,
              !ClientRegistrationRequest.containsControlCharacter(text),
              let parts = URLComponents(string: text), let host = parts.host, !host.isEmpty,
              parts.user == nil, parts.password == nil, parts.fragment == nil
        else { throw OAuthError(.invalidClientMetadata, "jwks_uri must be an absolute https URL without credentials or fragment") }
        switch parts.scheme?.lowercased() {
        case "https": return text
        case "http" where HTTPURL.isLoopbackHost(host): return text
        default: throw OAuthError(.invalidClientMetadata, "jwks_uri must use https")
        }
    }

    /// RFC 7517 §5: an object with a "keys" array. At least one key must be usable (RSA of 2048
    /// bits or more, or EC P-256, meant for signatures); unusable ones are dropped.
    private static func validatedSet(_ value: Any) throws(OAuthError) -> JWKS {
        guard let object = value as? [String: Any], JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object),
              let set = try? JSONDecoder().decode(JWKS.self, from: data)
        else { throw OAuthError(.invalidClientMetadata, "jwks must be a JWK Set: an object with a keys array") }
        let usable = usableKeys(set)
        guard !usable.isEmpty else {
            throw OAuthError(.invalidClientMetadata, "jwks has no usable signing key (RSA of 2048 bits or more, or EC P-256)")
        }
        guard usable.count <= maxInlineKeys else { throw OAuthError(.invalidClientMetadata, "jwks has too many keys") }
        return JWKS(keys: set.keys.filter { (try? JWSPublicKey(jwk: $0)) != nil })
    }

    /// The keys of `set` that OpenSSL imports and that may sign.
    public static func usableKeys(_ set: JWKS) -> [JWSPublicKey] {
        set.keys.compactMap { jwk in
            guard let key = try? JWSPublicKey(jwk: jwk), key.use == nil || key.use == "sig" else { return nil }
            return key
        }
    }
}
