import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Shared

/// The authorization server, assembled. `ServeCommand` runs it; the tests run the same thing
/// on port 0.
struct BuiltAuthServer: Sendable {
    let application: Application<RouterResponder<AuthRequestContext>>
    let environment: AuthServerEnvironment
}

/// The one builder used by `main` and by the tests. `passwordHasher` is for tests only (cheaper
/// scrypt parameters); `serve` always uses the production default.
func buildAuthServer(configuration: AuthServerConfiguration, logger: Logger, clock: Clock = .system,
                     passwordHasher: PasswordHasher = PasswordHasher()) throws -> BuiltAuthServer {
    // The config file's clients: checked (and their secrets read) before anything starts.
    let preregistered = try configuration.preregisteredClients.resolve()
    let database = try Database(configuration: configuration.database, logger: logger)
    let keys = SigningKeyStore(
        database: database, kek: configuration.keyEncryptionKey, bits: configuration.signingKeyBits,
        accessTokenLifetime: configuration.accessTokenLifetime, prepublishSeconds: JWKSEndpoint.maxAge,
        clock: clock, logger: logger)
    let clients = ClientStore(database: database)
    let fetcher = ClientMetadataFetcher(allowLoopback: configuration.insecureCIMDAllowLoopback)
    let fetchBudget = OutboundFetchBudget(database: database, limit: configuration.cimdFetchesPerHostPerMinute)
    let resolver = ClientResolver(
        clients: clients, fetcher: fetcher, failures: FailedFetchCache(), budget: fetchBudget,
        metadataDocumentsEnabled: configuration.clientMetadataDocuments, clock: clock, logger: logger,
        grantableScopes: configuration.resources.grantableNames)
    let assertions = ClientAssertionVerifier(
        replays: ClientAssertionReplayStore(database: database),
        jwks: ClientJWKSCache(fetcher: fetcher, budget: fetchBudget, logger: logger),
        audiences: [configuration.issuer, configuration.issuer + "/token"], clock: clock, logger: logger)
    let env = AuthServerEnvironment(
        configuration: configuration, database: database, clock: clock, logger: logger,
        clients: clients, clientResolver: resolver, clientAssertions: assertions, users: UserStore(database: database, hasher: passwordHasher), keys: keys,
        audit: AuditLog(database: database, logger: logger), throttle: LoginThrottle(database: database),
        tokens: TokenIssuer(keys: keys, issuer: configuration.issuer, accessTokenLifetime: configuration.accessTokenLifetime,
                            refreshTokenLifetime: configuration.refreshTokenLifetime),
        metrics: AuthMetrics())
    let router = try buildRouter(env)
    var application = Application(
        router: router,
        server: HTTPServerSettings.server(idleTimeoutSeconds: configuration.httpIdleTimeoutSeconds),
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Gatehouse-AuthServer"),
        services: [
            database.client,
            ExpiredRecordSweeper(database: database, logger: logger, interval: .seconds(600),
                                 auditRetentionDays: configuration.auditRetentionDays,
                                 clientReapDays: configuration.clientReapDays),
        ],
        logger: logger)
    application.beforeServerStarts {
        let firstKey = try await keys.firstKeyCandidate()
        try await Migrator.migrate(database, logger: logger)
        try await keys.bootstrap(candidate: try await firstKey?.value)
        try await configuration.preregisteredClients.apply(preregistered, store: clients, audit: env.audit, logger: logger)
    }
    return BuiltAuthServer(application: application, environment: env)
}

/// Wires every endpoint with the collaborators it names, once.
private func buildRouter(_ env: AuthServerEnvironment) throws -> Router<AuthRequestContext> {
    let configuration = env.configuration
    let families = TokenFamilyStore(database: env.database)
    let authenticator = ClientAuthenticator(clients: env.clientResolver, assertions: env.clientAssertions)
    // One check of our own access tokens, for every endpoint that is handed one: a token for any
    // of our resources (ProtectedResources.swift; the first is GATEHOUSE_MCP_RESOURCE without a file).
    let audiences = configuration.resources.resources.map(\.identifier.value)
    let accessTokens = AccessTokenVerifier(keys: env.keys, database: env.database, issuer: env.issuer,
                                           audience: audiences[0], clock: env.clock, otherAudiences: Array(audiences.dropFirst()))
    var flow = AuthorizationFlow(
        clients: env.clientResolver, pages: try PageRenderer(issuer: env.issuer),
        pendingRequests: PendingRequestStore(database: env.database),
        sessions: SessionStore(database: env.database, lifetime: TimeInterval(configuration.loginSessionLifetime)),
        consents: ConsentStore(database: env.database), database: env.database, clock: env.clock, issuer: env.issuer,
        codeLifetime: TimeInterval(configuration.authorizationCodeLifetime), https: configuration.issuerIsHTTPS,
        resources: configuration.resources)
    let connections = connectionParts(env)
    flow.connections = connections?.panel
    flow.loginOptions = configuration.federation.loginOptions
    let metadata = try MetadataEndpoint(issuer: env.issuer, clientMetadataDocuments: configuration.clientMetadataDocuments,
                                        scopesSupported: configuration.resources.grantableNames)
    // Issue 13's limits, counted in PostgreSQL across replicas (RateLimiter.swift); 0 is off.
    let limiter = RateLimiter(database: env.database, metrics: env.metrics, audit: env.audit, logger: env.logger)
    let limits = configuration.rateLimits
    let tokenLimit = RateLimitGate(limiter: limiter, rule: limits.token)
    let endpoints: [any AuthServerEndpoint] = [
        metadata,
        JWKSEndpoint(keys: env.keys),
        RegistrationEndpoint(clients: env.clients, audit: env.audit, metrics: env.metrics, clock: env.clock,
                             grantableScopes: configuration.resources.grantableNames,
                             rateLimit: RateLimitGate(limiter: limiter, rule: limits.registration),
                             duplicateWindow: limits.duplicateRegistrationWindow),
        AuthorizeEndpoint(validator: AuthorizeValidator(clients: env.clientResolver, resources: configuration.resources),
                          flow: flow, rateLimit: RateLimitGate(limiter: limiter, rule: limits.authorize)),
        LoginEndpoint(flow: flow, signIn: env.passwordSignIn, sessionLifetime: configuration.loginSessionLifetime),
        ConsentEndpoint(flow: flow, audit: env.audit),
        TokenEndpoint(authenticator: authenticator, grants: [
            AuthorizationCodeGrant(families: families, tokens: env.tokens, metrics: env.metrics, clock: env.clock,
                                   rateLimit: tokenLimit),
            RefreshTokenGrant(families: families, tokens: env.tokens, metrics: env.metrics, clock: env.clock,
                              grace: TimeInterval(configuration.refreshReplayGraceSeconds), rateLimit: tokenLimit),
            TokenExchangeGrant(settings: configuration.tokenExchange, exchanged: ExchangedTokenStore(database: env.database),
                               accessTokens: accessTokens, tokens: env.tokens, audit: env.audit, metrics: env.metrics,
                               clock: env.clock, rateLimit: tokenLimit),
        ], usage: ClientUsageRecorder(store: env.clients, clock: env.clock, logger: env.logger)),
        RevocationEndpoint(authenticator: authenticator, verifier: accessTokens, families: families),
        IntrospectionEndpoint(authenticator: authenticator, verifier: accessTokens, families: families,
                              introspectionClients: configuration.introspectionClients, issuer: env.issuer, clock: env.clock),
        UserInfoEndpoint(verifier: accessTokens, users: env.users),
    ] + accountEndpoints(env, flow: flow) + connectionEndpoints(env, flow: flow, parts: connections)
        + (try federationEndpoints(env, flow: flow))

    let router = Router(context: AuthRequestContext.self)
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ClientAddressMiddleware(trustedProxies: configuration.trustedProxies))
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: CORSPolicy(paths: Set(metadata.paths + ["/jwks.json", "/register", "/token", "/revoke", "/userinfo"])))
    router.add(middleware: ErrorMappingMiddleware())
    for endpoint in endpoints { endpoint.addRoutes(to: router) }
    router.get("/assets/gatehouse.css") { _, _ in PageRenderer.stylesheet() }
    router.get("/") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: .init(string: #"{"service":"gatehouse-authserver","metadata":"/.well-known/oauth-authorization-server"}"#)))
    }
    router.addHealthRoutes {
        let database = await env.database.isReachable()
        let keys = await env.keys.isLoaded
        return ["database": database, "signing_keys": keys]
    }
    return router
}
