import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
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
    let validator = TokenValidator(issuer: configuration.issuer, audience: configuration.resource.value, keys: keys,
                                   revocations: feed, cache: ValidatedTokenCache(), clock: clock,
                                   maximumLifetime: configuration.accessTokenLifetime, leeway: leeway)
    let tools = ToolCatalog.standard(notes: NoteStore(database: database))
    let endpoint = MCPEndpoint(
        authentication: authentication(configuration, validator: validator, logger: logger),
        challenge: BearerChallenge(resourceMetadataURL: configuration.resourceMetadataURL, supportedScopes: ScopeCatalog.names),
        server: MCPSessionlessServer(name: "gatehouse-notes", title: configuration.resourceName, version: "1.0.0",
                                     tools: tools),
        tools: tools)
    let metadata = ProtectedResourceMetadataEndpoint(resource: configuration.resource.value,
                                             authorizationServers: [configuration.issuer],
                                             scopesSupported: ScopeCatalog.names,
                                             resourceName: configuration.resourceName)

    let router = Router()
    router.middlewares.add(MetricsMiddleware())
    if configuration.isBoundToLoopback {
        router.middlewares.add(LoopbackHostMiddleware(resourceHost: configuration.resourceHost))
    }
    router.middlewares.add(CORSMiddleware(publicPaths: Set(ProtectedResourceMetadataEndpoint.paths(mcpPath: configuration.mcpPath))))
    metadata.addRoutes(to: router, mcpPath: configuration.mcpPath)
    // The Origin check belongs to the MCP routes, so it runs for every path spelling they match.
    endpoint.addRoutes(to: router.group().add(middleware: MCPOriginMiddleware(allowedOrigins: configuration.allowedOrigins)),
                       path: configuration.mcpPath)
    router.addHealthRoutes {
        async let databaseReachable = database.isReachable()
        async let keysAvailable = keys.isLoadedOrFetchable()
        return ["database": await databaseReachable, "jwks": await keysAvailable, "revocation_feed": feed.isFresh]
    }

    var application = Application(
        router: router,
        configuration: .init(address: .hostname(configuration.host, port: configuration.port),
                             serverName: "gatehouse-resource-server"),
        services: [database.client, feed],
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

private func authentication(_ configuration: ResourceServerConfiguration, validator: TokenValidator,
                            logger: Logger) -> MCPEndpoint.Authentication {
    guard configuration.insecureDisableAuth else { return .bearer(validator) }
    logger.critical("""
        GATEHOUSE_INSECURE_DISABLE_AUTH is on: /mcp accepts every request WITHOUT a token, as subject \
        "benchmark" with all scopes. Use this for benchmarks only, never where anyone else can connect.
        """)
    return .disabled(VerifiedIdentity(subject: "benchmark", clientID: "benchmark",
                                      scopes: ScopeSet(tokens: ScopeCatalog.names), tokenID: "benchmark"))
}
