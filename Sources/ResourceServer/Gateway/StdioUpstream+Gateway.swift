import Foundation
import Shared

extension StdioUpstream {
    /// The upstream of one `upstream.stdio` resource of the config file, and its process pool (a
    /// `Service`, so the children stop with the server). GATEHOUSE_USERNAME comes from the users
    /// table through `UsernameStore`, like the X-Gatehouse-Username header.
    static func make(for resource: ProtectedResourceCatalog.Resource, stdio: ProtectedResourceConfiguration.Stdio,
                     dependencies: GatewayUpstreams.Dependencies) -> (upstream: StdioUpstream, pool: StdioProcessPool) {
        var settings = StdioProcessPool.Settings(command: stdio.command)
        settings.perUser = stdio.perUser
        settings.environment = Dictionary(stdio.environment.map { ($0.name, $0.value) }, uniquingKeysWith: { $1 })
        settings.idleTimeout = .seconds(stdio.idleTimeout)
        settings.maxProcesses = stdio.maxProcesses
        var logger = dependencies.logger
        logger[metadataKey: "upstream"] = "stdio"
        let pool = StdioProcessPool(settings: settings, resource: resource.path, clock: dependencies.clock, logger: logger)
        let usernames = UsernameStore(database: dependencies.database, clock: dependencies.clock)
        let upstream = StdioUpstream(
            pool: pool, sessions: GatewaySessionBinding(store: GatewaySessionKeyStore(database: dependencies.database)),
            resource: resource.identifier.value,
            username: { subject in try? await usernames.username(subject: subject) })
        return (upstream, pool)
    }
}
