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
        configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "Gatehouse-AuthServer"),
        services: [
            database.client,
            ExpiredRecordSweeper(database: database, logger: logger, interval: .seconds(600),
                                 auditRetentionDays: configuration.auditRetentionDays),
        ],
        logger: logger)
    application.beforeServerStarts {
        try await Migrator.migrate(database, logger: logger)
        try await keys.bootstrap()
    }
    return BuiltAuthServer(application: application, environment: env)
}

private func buildRouter(_ env: AuthServerEnvironment) throws -> Router<AuthRequestContext> {
    let router = Router(context: AuthRequestContext.self)
    let metadata = try MetadataEndpoint(env: env)
    let pages = try PageRenderer(issuer: env.issuer)
    let flow = AuthorizationFlow(
        env: env, pages: pages, pendingRequests: PendingRequestStore(database: env.database),
        sessions: SessionStore(database: env.database, lifetime: TimeInterval(env.configuration.loginSessionLifetime)),
        consents: ConsentStore(database: env.database))
    let authenticator = ClientAuthenticator(clients: env.clientResolver, assertions: env.clientAssertions)
    let token = TokenEndpoint(env: env)
    let authorize = AuthorizeEndpoint(env: env, flow: flow)
    let login = LoginEndpoint(env: env, flow: flow)
    let consent = ConsentEndpoint(env: env, flow: flow)
    // Tokens for any of our resources (ProtectedResources.swift): the first is GATEHOUSE_MCP_RESOURCE without a file.
    let audiences = env.configuration.resources.resources.map(\.identifier.value)
    let accessTokens = AccessTokenVerifier(keys: env.keys, database: env.database, issuer: env.issuer,
                                           audience: audiences[0], clock: env.clock, otherAudiences: Array(audiences.dropFirst()))
    let revoke = RevocationEndpoint(env: env, authenticator: authenticator, verifier: accessTokens)
    let introspect = IntrospectionEndpoint(env: env, authenticator: authenticator, verifier: accessTokens)
    let register = RegistrationEndpoint(env: env)
    let jwks = JWKSEndpoint(keys: env.keys)
    let userInfo = UserInfoEndpoint(verifier: accessTokens, users: env.users)

    // Path-inserted (RFC 8414 §3.1) and path-appended (OIDC) variants for an issuer with a path.
    let issuerPath = URLComponents(string: env.issuer)?.path ?? ""
    var metadataPaths = ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
    if !issuerPath.isEmpty {
        metadataPaths += ["/.well-known/oauth-authorization-server\(issuerPath)", "/.well-known/openid-configuration\(issuerPath)",
                          "\(issuerPath)/.well-known/openid-configuration"]
    }
    let corsPaths = Set(metadataPaths + ["/jwks.json", "/register", "/token", "/revoke", "/userinfo"])

    router.add(middleware: MetricsMiddleware())
    router.add(middleware: LogRequestsMiddleware(.debug))
    router.add(middleware: CORSPolicy(paths: corsPaths))
    router.add(middleware: ErrorMappingMiddleware())

    for path in metadataPaths {
        router.get(RouterPath(path)) { request, context in metadata.handle(request, context: context) }
    }
    router.get("/jwks.json") { request, context in try await jwks.handle(request, context: context) }
    router.post("/register") { request, context in try await register.handle(request, context: context) }
    router.get("/authorize") { request, context in try await authorize.handle(request, context: context) }
    router.post("/login") { request, context in try await login.handle(request, context: context) }
    router.post("/consent") { request, context in try await consent.handle(request, context: context) }
    router.post("/token") { request, context in try await token.handle(request, context: context) }
    router.post("/revoke") { request, context in try await revoke.handle(request, context: context) }
    router.post("/introspect") { request, context in try await introspect.handle(request, context: context) }
    router.get("/userinfo") { request, context in try await userInfo.handle(request, context: context) }
    router.post("/userinfo") { request, context in try await userInfo.handle(request, context: context) }
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
