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
