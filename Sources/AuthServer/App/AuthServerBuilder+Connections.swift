import Foundation
import Shared

/// What the connection endpoints share (issue 12, "Connections"), built once; nil without
/// `connections:` in the config file, and then no route or button exists.
struct ConnectionParts: Sendable {
    let clients: [String: ConnectionTokenClient]
    let store: UserConnectionStore
    let states: ConnectionStateStore
    let panel: ConnectionPanel
}

func connectionParts(_ env: AuthServerEnvironment) -> ConnectionParts? {
    let settings = env.configuration.connections
    guard !settings.isEmpty else { return nil }
    let seal = ConnectionTokenSeal(kek: env.configuration.keyEncryptionKey)
    let store = UserConnectionStore(database: env.database, seal: seal)
    return ConnectionParts(clients: settings.clients(clock: env.clock), store: store,
                           states: ConnectionStateStore(database: env.database, seal: seal),
                           panel: ConnectionPanel(connections: settings.connections, store: store))
}

/// The connect and callback routes and the account page's Disconnect button.
func connectionEndpoints(_ env: AuthServerEnvironment, flow: AuthorizationFlow, parts: ConnectionParts?) -> [any AuthServerEndpoint] {
    guard let parts else { return [] }
    let forms = AccountForms(flow: flow, formGuard: SessionFormGuard(issuer: env.issuer))
    return [
        ConnectionEndpoint(flow: flow, clients: parts.clients, states: parts.states, store: parts.store,
                           links: ConnectLinkBinding(kek: env.configuration.keyEncryptionKey), audit: env.audit),
        AccountConnectionsEndpoint(forms: forms, clients: parts.clients, store: parts.store, audit: env.audit),
    ]
}
