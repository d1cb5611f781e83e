import Foundation

extension Client {
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
}
