import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle
import Shared

/// Builds the `MCPUpstream` of each gateway resource of the config file, and the services
/// (process pools, connection pools) that must run, and stop, with the server.
///
/// The one place where a resource's `upstream:` setting turns into a type: `upstream.http` is
/// `HTTPUpstream`, `upstream.stdio` is `StdioUpstream`.
struct GatewayUpstreams {
    /// What every upstream may need, built once by `buildResourceServer`.
    struct Dependencies: Sendable {
        let configuration: ResourceServerConfiguration
        let database: Database
        let logger: Logger
        let clock: Clock
        let httpClient: HTTPClient
    }

    struct Built {
        let upstream: any MCPUpstream
        let services: [any Service]
    }

    let dependencies: Dependencies

    func make(for resource: ProtectedResourceCatalog.Resource) throws -> Built {
        switch resource.configuration.upstream {
        case .http(let http):
            let upstream = try HTTPUpstream.make(for: resource, http: http, dependencies: dependencies)
            return Built(upstream: upstream, services: [upstream])
        case .stdio(let stdio):
            let built = StdioUpstream.make(for: resource, stdio: stdio, dependencies: dependencies)
            return Built(upstream: built.upstream, services: [built.pool])
        case .builtin:
            preconditionFailure("built-in resources are served by MCPEndpoint")
        }
    }
}
