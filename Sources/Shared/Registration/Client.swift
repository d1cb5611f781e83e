import Foundation

/// A client as Gatehouse stores it.
public struct Client: Sendable {
    public enum AuthMethod: String, Sendable, CaseIterable {
        case none
        case clientSecretBasic = "client_secret_basic"
        case clientSecretPost = "client_secret_post"
        /// RFC 7523 §2.2: a JWT signed with a key from the client's `jwks_uri` or `jwks`.
        case privateKeyJWT = "private_key_jwt"
    }

    public var clientID: String
    public var authMethod: AuthMethod
    public var secretHash: [UInt8]?
    public var name: String?
    public var clientURI: String?
    public var redirectURIs: [String]
    public var grantTypes: [String]
    /// The scopes it registered for, narrowed to what we know; empty means every known scope.
    public var scope: ScopeSet
    public var applicationType: String
    public var registrationKind: String
    public var createdAt: Date
    /// `private_key_jwt` only: where the client publishes its keys, or the keys themselves, and
    /// the one algorithm it signs with when it registered `token_endpoint_auth_signing_alg`.
    public var jwksURI: String? = nil
    public var jwks: JWKS? = nil
    public var signingAlgorithm: JWSAlgorithm? = nil
    /// Pre-registered first-party clients only: the consent page is skipped (`clients create --trusted`).
    public var trusted: Bool = false

    /// Public, with the memberwise defaults: `Client` lives in Shared, built by the AuthServer's stores and flows.
    public init(clientID: String, authMethod: AuthMethod, secretHash: [UInt8]?, name: String?, clientURI: String?,
                redirectURIs: [String], grantTypes: [String], scope: ScopeSet, applicationType: String,
                registrationKind: String, createdAt: Date, jwksURI: String? = nil, jwks: JWKS? = nil,
                signingAlgorithm: JWSAlgorithm? = nil, trusted: Bool = false) {
        self.clientID = clientID
        self.authMethod = authMethod
        self.secretHash = secretHash
        self.name = name
        self.clientURI = clientURI
        self.redirectURIs = redirectURIs
        self.grantTypes = grantTypes
        self.scope = scope
        self.applicationType = applicationType
        self.registrationKind = registrationKind
        self.createdAt = createdAt
        self.jwksURI = jwksURI
        self.jwks = jwks
        self.signingAlgorithm = signingAlgorithm
        self.trusted = trusted
    }

    public var isPublic: Bool { authMethod == .none }

    /// `registration_kind` of a client identified by the URL of its metadata document.
    public static let metadataDocumentKind = "metadata_document"
    public var isMetadataDocument: Bool { registrationKind == Self.metadataDocumentKind }

    /// Were this client's redirect URIs chosen by the operator rather than by whoever registered
    /// it? Dynamically registered and metadata-document clients pick their own, so an error for
    /// them must not redirect before a person has signed in (RFC 9700 §4.11.2).
    public var redirectURIsAreVetted: Bool { !(registrationKind == "dynamic" || isMetadataDocument) }

    /// Scope used when an authorization request has none (ChatGPT reconnects without one).
    public var defaultScope: ScopeSet { scope.isEmpty ? ScopeSet(tokens: ScopeCatalog.names) : scope }
}
