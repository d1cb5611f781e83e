import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Shared

/// Builds the whole resource server: the one function both `serve` and the tests call, so what the
/// tests exercise is exactly what runs in production. `clock` is injectable for token-time checks;
/// `onServerRunning` lets tests learn the port when they bind port 0.
func buildResourceServer(
    configuration: ResourceServerConfiguration,
    logger: Logger,
    clock: Clock = .system,
    httpClient: HTTPClient = .shared,
    onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
) async throws -> some ApplicationProtocol {
    let database = try Database(configuration: configuration.database, logger: logger)
    let leeway = 30
    let feed = RevocationFeed(database: database, logger: logger, clock: clock, leeway: leeway,
                              accessTokenLifetime: configuration.accessTokenLifetime)
    let keys = JWKSCache(fetcher: JWKSFetcher(issuer: configuration.issuer, httpClient: httpClient),
                         jwksURI: configuration.jwksURI, logger: logger, clock: clock)
    // One lookup cache for every resource: each validation still checks the key's own resource.
    let apiKeys = configuration.apiKeysEnabled
        ? APIKeyValidator(lookup: APIKeyLookup(database: database), revocations: feed, cache: APIKeyCache(), clock: clock,
                          logger: logger)
        : nil
    if !configuration.apiKeysEnabled { logger.notice("GATEHOUSE_API_KEYS=false: API keys (gh_pat_…) are refused") }
    let router = Router()
    router.middlewares.add(MetricsMiddleware())
    if configuration.isBoundToLoopback {
        router.middlewares.add(LoopbackHostMiddleware(resourceHost: configuration.resourceHost))
    }
    let catalog = configuration.resources
    // The root metadata document stays where it was for the one resource of a deployment without
    // a config file; with several resources each has only its own path-aware document.
    let servesRootMetadata = catalog.resources.count == 1
    let metadataPaths = catalog.resources.flatMap {
        ProtectedResourceMetadataEndpoint.paths(mcpPath: $0.path, includeRoot: servesRootMetadata)
    }
    router.middlewares.add(CORSMiddleware(publicPaths: Set(metadataPaths)))
    // The Origin check belongs to the MCP routes, so it runs for every path spelling they match.
    let mcpRoutes = router.group().add(middleware: MCPOriginMiddleware(allowedOrigins: configuration.allowedOrigins))
    let upstreams = GatewayUpstreams(dependencies: .init(configuration: configuration, database: database, logger: logger,
                                                         clock: clock, httpClient: httpClient))
    var upstreamServices: [any Service] = []
    var tokenCaches: [ValidatedTokenCacheSweeper.Watched] = []
    for resource in catalog.resources {
        // One validator per resource: a token is accepted only where its `aud` names this resource,
        // and the validated-token cache is per audience, so a hit for one resource never serves another.
        // A resource with `identity.token` takes no API keys: RFC 8693 exchange needs our JWT as the
        // subject token, and a key must not travel on to the AuthServer's token endpoint.
        let tokenCache = ValidatedTokenCache()
        tokenCaches.append(.init(resource: resource.path, cache: tokenCache))
        let validator = TokenValidator(issuer: configuration.issuer, audience: resource.identifier.value, keys: keys,
                                       revocations: feed, cache: tokenCache, clock: clock,
                                       maximumLifetime: configuration.accessTokenLifetime, leeway: leeway,
                                       apiKeys: resource.configuration.identity.token ? nil : apiKeys)
        let metadataURL = configuration.resourceOrigin + ProtectedResourceMetadataEndpoint.wellKnownPrefix
            + (resource.path == "/" ? "" : resource.path)
        let challenge = BearerChallenge(resourceMetadataURL: metadataURL, supportedScopes: resource.scopeNames)
        let authentication = authentication(configuration, scopes: resource.scopeNames, validator: validator, logger: logger)
        ProtectedResourceMetadataEndpoint(resource: resource.identifier.value, authorizationServers: [configuration.issuer],
                                          scopesSupported: resource.scopeNames, resourceName: resource.name)
            .addRoutes(to: router, mcpPath: resource.path, includeRoot: servesRootMetadata)
        switch resource.configuration.upstream {
        case .builtin(.notes):
            let connections = gatewayConnections(configuration, resource: resource, database: database, clock: clock)
            let tools = ToolCatalog.standard(notes: NoteStore(database: database), hasConnections: connections != nil)
            MCPEndpoint(
                authentication: authentication, challenge: challenge,
                server: MCPSessionlessServer(name: "gatehouse-notes", title: resource.name, version: "1.0.0", tools: tools),
                tools: tools, connections: connections)
                .addRoutes(to: mcpRoutes, path: resource.path)
        case .http, .stdio:
            let built = try upstreams.make(for: resource)
            upstreamServices += built.services
            GatewayEndpoint(resource: resource, authentication: authentication, challenge: challenge,
                            upstream: built.upstream, audit: DeniedCallAudit(database: database, logger: logger),
                            connections: gatewayConnections(configuration, resource: resource, database: database, clock: clock),
                            elicitation: connectionElicitation(configuration, resource: resource, database: database, clock: clock))
                .addRoutes(to: mcpRoutes, path: resource.path)
        }
    }
    router.addHealthRoutes {
        async let databaseReachable = database.isReachable()
        async let keysAvailable = keys.isLoadedOrFetchable()
        return ["database": await databaseReachable, "jwks": await keysAvailable, "revocation_feed": feed.isFresh]
    }

    var application = Application(
        router: router,
        server: HTTPServerSettings.server(idleTimeoutSeconds: configuration.httpIdleTimeoutSeconds),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                             serverName: "gatehouse-resource-server"),
        services: [database.client, feed, ValidatedTokenCacheSweeper(caches: tokenCaches, clock: clock, leeway: leeway)]
            + upstreamServices,
        onServerRunning: onServerRunning,
        logger: logger)
    application.beforeServerStarts {
        // postgres-nio retries an unreachable server for about a minute; fail start-up sooner and say why.
        _ = try await withDeadline(.seconds(30)) { try await Migrator.migrate(database, logger: logger) }
        // The first full load of revoked tokens, before the port opens.
        await feed.poll()
        _ = await keys.isLoadedOrFetchable()
    }
    return application
}

private func authentication(_ configuration: ResourceServerConfiguration, scopes: [String], validator: TokenValidator,
                            logger: Logger) -> MCPEndpoint.Authentication {
    guard configuration.insecureDisableAuth else { return .bearer(validator) }
    logger.critical("""
        GATEHOUSE_INSECURE_DISABLE_AUTH is on: /mcp accepts every request WITHOUT a token, as subject \
        "benchmark" with all scopes. Use this for benchmarks only, never where anyone else can connect.
        """)
    return .disabled(VerifiedIdentity(subject: "benchmark", clientID: "benchmark",
                                      scopes: ScopeSet(tokens: scopes), tokenID: "benchmark"))
}
