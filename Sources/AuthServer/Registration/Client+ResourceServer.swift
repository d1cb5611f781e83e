import Foundation
import Shared

/// The confidential client a ResourceServer authenticates with to exchange its callers' tokens
/// (RFC 8693), created by the operator (`AuthServer clients create-resource-server`, or `migrate`
/// with `GATEHOUSE_RS_CLIENT_ID` and `GATEHOUSE_RS_CLIENT_SECRET_FILE`), never by registration.
/// It has no redirect URIs, so `/authorize` refuses it before anything else, and it has no
/// grant but the token exchange.
extension Client {
    /// `registration_kind` of such a client.
    static let resourceServerKind = "resource_server"
    static let defaultResourceServerID = "gatehouse-resource-server"
    /// Shorter secrets are refused: the secret is a 256-bit random value, or one of similar strength.
    static let minimumResourceServerSecretLength = 32

    var isResourceServer: Bool { registrationKind == Self.resourceServerKind }

    static func resourceServer(id: String, secret: String, now: Date) -> Client {
        Client(clientID: id, authMethod: .clientSecretBasic, secretHash: Digest.sha256(secret),
               name: "Gatehouse resource server", clientURI: nil, redirectURIs: [],
               grantTypes: [TokenExchangeGrant.grantType], scope: ScopeSet(nil), applicationType: "web",
               registrationKind: resourceServerKind, createdAt: now)
    }
}
