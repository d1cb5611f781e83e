import Foundation
import Shared

extension HTTPUpstream {
    /// The upstream of one `upstream.http` resource of the config file, with the identity its
    /// `identity:` settings ask for. `identity.token` needs the ResourceServer's client credentials;
    /// without them start-up stops here, naming the variable.
    static func make(for resource: ProtectedResourceCatalog.Resource, http: ProtectedResourceConfiguration.HTTP,
                     dependencies: GatewayUpstreams.Dependencies) throws -> HTTPUpstream {
        let options = resource.configuration.identity
        var exchange: TokenExchangeClient?
        if options.token {
            guard let credentials = dependencies.configuration.exchangeCredentials else {
                throw ConfigurationError(TokenExchangeClient.Credentials.idVariable,
                                         "is required (with \(TokenExchangeClient.Credentials.secretFileVariable)) for \(resource.path): identity.token exchanges tokens at the AuthServer as the ResourceServer's own client")
            }
            exchange = TokenExchangeClient(tokenEndpoint: dependencies.configuration.issuer + "/token", credentials: credentials,
                                           httpClient: dependencies.httpClient, clock: dependencies.clock)
        }
        let identity = UpstreamIdentity(
            options: .init(token: options.token, headers: options.headers), audience: http.url,
            usernames: options.headers ? UsernameStore(database: dependencies.database, clock: dependencies.clock) : nil,
            exchange: exchange)
        return HTTPUpstream(
            settings: Settings(url: http.url, resource: resource.identifier.value, name: resource.path, timeout: http.timeout),
            identity: identity,
            sessions: GatewaySessionBinding(store: GatewaySessionKeyStore(database: dependencies.database)))
    }
}
