import Foundation
import Shared

/// A gateway resource's connections (issue 12), or nil when it names none. The configuration
/// guarantees the key-encryption key whenever there are connections.
func gatewayConnections(_ configuration: ResourceServerConfiguration, resource: ProtectedResourceCatalog.Resource,
                        database: Database, clock: Clock) -> GatewayConnections? {
    let names = resource.configuration.connections
    guard !names.isEmpty, let kek = configuration.keyEncryptionKey else { return nil }
    let clients = configuration.connections.clients(clock: clock)
    return GatewayConnections(
        connections: names.compactMap(configuration.connections.connection), clients: clients,
        store: UserConnectionStore(database: database, seal: ConnectionTokenSeal(kek: kek)),
        issuer: configuration.issuer, clock: clock)
}

/// URL-mode elicitation for a gateway resource with connections (issue 12), or nil without: its
/// own session binding (the same shared key as the upstream's) and the connect-link binding under
/// the key-encryption key.
func connectionElicitation(_ configuration: ResourceServerConfiguration, resource: ProtectedResourceCatalog.Resource,
                           database: Database, clock: Clock) -> ConnectionElicitation? {
    guard !resource.configuration.connections.isEmpty, let kek = configuration.keyEncryptionKey else { return nil }
    return ConnectionElicitation(sessions: GatewaySessionBinding(store: GatewaySessionKeyStore(database: database)),
                                 links: ConnectLinkBinding(kek: kek), resource: resource.identifier.value, clock: clock)
}
