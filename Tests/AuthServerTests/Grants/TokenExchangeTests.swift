import Foundation
import HTTPTypes
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// RFC 8693 token exchange through `POST /token`: the gateway's resource server trades a
/// caller's access token for a short-lived token for one upstream MCP server.
@Suite(.serialized) struct TokenExchangeTests {
    typealias Refused = AuthorizationCodeGrantTests
    static let upstream = "http://127.0.0.1:3001/mcp"
    static let filesUpstream = "https://files.internal.example/mcp"
    static let plainUpstream = "http://127.0.0.1:3002/mcp"
    static let crm = "http://localhost:8000/mcp/crm"
    static let notes = "http://localhost:8000/mcp"
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"
    /// The CRM and Files upstreams receive exchanged tokens; Plain does not ask for them.
    static let config = """
        resources:
          - path: /mcp
            builtin: notes
          - path: /mcp/crm
            name: CRM
            scopes: {crm:read: Read the CRM, crm:write: Change the CRM}
            tools: {"*": [crm:read]}
            upstream: {http: {url: "\(upstream)"}}
            identity: {token: true}
          - path: /mcp/files
            name: Files
            scopes: {files:read: Read your files}
            tools: {"*": [files:read]}
            upstream: {http: {url: "\(filesUpstream)"}}
            identity: {token: true, headers: true}
          - path: /mcp/plain
            name: Plain
            scopes: {plain:read: Read}
            tools: {"*": [plain:read]}
            upstream: {http: {url: "\(plainUpstream)"}}
        """
    static let configPath = writeConfig(config)

    static func writeConfig(_ text: String) -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-exchange-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try! text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// One person's CRM tokens (from a public client) and the resource server's own client.
    struct Setup: Sendable {
        let server: TestAuthServer
        let client: RegisteredClient
        let tokens: IssuedTokens
        let resourceServer: RegisteredClient
        var subject: String { tokens.accessToken }
    }

    static func run(_ mode: TestAuthServer.Mode = .router, overrides extra: [String: String] = [:],
                    _ body: @escaping @Sendable (Setup) async throws -> Void) async throws {
        let overrides = ["GATEHOUSE_CONFIG": configPath].merging(extra) { $1 }
        try await TestAuthServer.run(mode, overrides: overrides) { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser,
                                                      changes: ["resource": Self.crm, "scope": "crm:read crm:write"])
            let resourceServer = try await server.createResourceServerClient()
            try await body(Setup(server: server, client: client, tokens: tokens, resourceServer: resourceServer))
        }
    }

    // MARK: Success

    @Test("RFC 8693 §2.2.1 and §4.1: an at+jwt for the upstream with sub, client_id, scope and act, over real HTTP")
    func success() async throws {
        try await Self.run(.live) { setup in
            let server = setup.server
            let reply = try await server.exchangeToken(setup.subject, client: setup.resourceServer)
            #expect(reply.status == .ok, "\(reply.body)")
            let json = reply.json
            #expect(json["issued_token_type"] as? String == Self.accessTokenType)
            #expect(json["token_type"] as? String == "Bearer")
            #expect(json["expires_in"] as? Int == 300)
            #expect(json["scope"] as? String == "crm:read crm:write")
            #expect(json["refresh_token"] == nil && json["id_token"] == nil)
            #expect(reply.headers[.cacheControl] == "no-store" && reply.headers[.pragma] == "no-cache")

            let token = try #require(json["access_token"] as? String)
            let claims = try await server.verifiedExchangedClaims(token)
            let subject = try JWTParser.parse(setup.subject, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
            #expect(claims.iss == server.issuer)
            #expect(claims.sub == subject.sub)
            #expect(claims.aud == .one(Self.upstream))
            #expect(claims.client_id == setup.client.id)
            #expect(claims.scope == "crm:read crm:write")
            #expect(claims.act == .init(sub: setup.resourceServer.id))
            #expect(claims.iat == server.clock.clock.seconds && claims.exp == claims.iat + 300)
            #expect(claims.jti != subject.jti && claims.jti.count >= 22)
            // Recorded under the subject's family; a second exchange gets a fresh jti.
            #expect(try await server.count("SELECT count(*)::int FROM access_tokens WHERE jti = \(claims.jti)") == 1)
            let again = try await server.exchangeToken(setup.subject, client: setup.resourceServer)
            let second = try await server.verifiedExchangedClaims(try #require(again.json["access_token"] as? String))
            #expect(second.jti != claims.jti)
            #expect(try await server.auditEvents("token_exchanged", client: setup.resourceServer.id) == 2)
        }
    }

    @Test("RFC 8693 §2.1: `resource` works like `audience`, and the upstream URL is compared in canonical form")
    func resourceParameterAndCanonicalAudience() async throws {
        try await Self.run { setup in
            let byResource = try await setup.server.exchangeToken(
                setup.subject, client: setup.resourceServer, changes: ["audience": nil, "resource": Self.upstream])
            #expect(byResource.status == .ok, "\(byResource.body)")
            let claims = try await setup.server.verifiedExchangedClaims(byResource.json["access_token"] as? String ?? "")
            #expect(claims.aud == .one(Self.upstream))
            let both = try await setup.server.exchangeToken(
                setup.subject, client: setup.resourceServer, changes: ["audience": "HTTP://127.0.0.1:3001/mcp/", "resource": Self.upstream])
            #expect(both.status == .ok, "\(both.body)")
            let canonical = try await setup.server.verifiedExchangedClaims(both.json["access_token"] as? String ?? "")
            #expect(canonical.aud == .one(Self.upstream))
        }
    }

    @Test("A token for one resource buys no token for another resource's upstream")
    func subjectIsBoundToItsResource() async throws {
        try await Self.run { setup in
            Refused.expectRefused(try await setup.server.exchangeToken(
                setup.subject, client: setup.resourceServer, changes: ["audience": Self.filesUpstream]), "invalid_request")
        }
    }

    @Test("The exchanged token never outlives its subject token")
    func lifetimeIsBoundedBySubject() async throws {
        try await Self.run { setup in
            let subject = try JWTParser.parse(setup.subject, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
            setup.server.clock.advance(seconds: 3500)
            let reply = try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer)
            #expect(reply.status == .ok, "\(reply.body)")
            #expect(reply.json["expires_in"] as? Int == 100)
            let claims = try await setup.server.verifiedExchangedClaims(reply.json["access_token"] as? String ?? "")
            #expect(claims.exp == subject.exp)
        }
    }

    @Test("GATEHOUSE_TOKEN_EXCHANGE_TTL sets the exchanged token's lifetime")
    func configuredLifetime() async throws {
        try await Self.run(overrides: ["GATEHOUSE_TOKEN_EXCHANGE_TTL": "60"]) { setup in
            let reply = try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer)
            #expect(reply.status == .ok && reply.json["expires_in"] as? Int == 60, "\(reply.body)")
        }
    }

    @Test("RFC 8693 §2.1 scope: a narrower scope is granted, a wider one is invalid_scope")
    func scope() async throws {
        try await Self.run { setup in
            let narrow = try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer, changes: ["scope": "crm:read"])
            #expect(narrow.status == .ok && narrow.json["scope"] as? String == "crm:read", "\(narrow.body)")
            let claims = try await setup.server.verifiedExchangedClaims(narrow.json["access_token"] as? String ?? "")
            #expect(claims.scope == "crm:read")
            for wider in ["crm:read crm:write openid", "notes:read", "files:read"] {
                Refused.expectRefused(try await setup.server.exchangeToken(
                    setup.subject, client: setup.resourceServer, changes: ["scope": wider]), "invalid_scope", Comment(rawValue: wider))
            }
        }
    }

    // MARK: Refusals of the subject token

    @Test("RFC 8693 §2.2.2: a revoked subject token is refused with invalid_request")
    func revokedSubject() async throws {
        try await Self.run { setup in
            let revoked = try await setup.server.tokenRequest([("token", setup.subject)], client: setup.client, path: "/revoke")
            #expect(revoked.status == .ok)
            Refused.expectRefused(try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer), "invalid_request")
            #expect(try await setup.server.auditEvents("token_exchange_refused", client: setup.resourceServer.id) == 1)
        }
    }

    @Test("Revoking the subject's grant (its refresh token family) revokes the exchanged tokens too")
    func familyRevocationReachesExchangedTokens() async throws {
        try await Self.run { setup in
            let reply = try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer)
            let claims = try await setup.server.verifiedExchangedClaims(reply.json["access_token"] as? String ?? "")
            #expect(try await !setup.server.isRevoked(jti: claims.jti))
            let revoked = try await setup.server.tokenRequest(
                [("token", setup.tokens.refreshToken), ("token_type_hint", "refresh_token")], client: setup.client, path: "/revoke")
            #expect(revoked.status == .ok)
            #expect(try await setup.server.isRevoked(jti: claims.jti))
            Refused.expectRefused(try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer), "invalid_request")
        }
    }

    @Test("RFC 8693 §2.2.2: an expired subject token is refused with invalid_request")
    func expiredSubject() async throws {
        try await Self.run { setup in
            setup.server.clock.advance(seconds: 3601)
            Refused.expectRefused(try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer), "invalid_request")
        }
    }

    @Test("RFC 8693 §2.2.2: tokens that are not an access token of ours for this resource are invalid_request")
    func foreignSubjects() async throws {
        try await Self.run { setup in
            let server = setup.server
            // A token of ours for the notes resource: it buys nothing at the CRM's upstream.
            let signer = try await server.environment.keys.currentSigner()
            let subject = try JWTParser.parse(setup.subject, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
            let otherResource = try server.environment.tokens.accessToken(
                signer: signer, subject: try #require(UUID(uuidString: subject.sub)), clientID: setup.client.id,
                scope: ScopeSet("notes:read"), resource: Self.notes, now: server.clock.clock.now()).token
            // The same claims signed by a key that is not ours.
            let forged = try JWTSigner.sign(subject, key: try RSAKey.generate(bits: 2048), keyID: signer.kid, type: "at+jwt")
            // A token the exchange issued: never exchanged again.
            let exchanged = try await server.exchangeToken(setup.subject, client: setup.resourceServer).json["access_token"] as? String
            let cases: [(String, String)] = [
                ("refresh token", setup.tokens.refreshToken), ("other resource", otherResource), ("forged", forged),
                ("exchanged token", try #require(exchanged)), ("garbage", "not-a-token"),
            ]
            for (name, token) in cases {
                Refused.expectRefused(try await server.exchangeToken(token, client: setup.resourceServer), "invalid_request",
                                      Comment(rawValue: name))
            }
            // The exchanged token, even when asked for as its own audience.
            Refused.expectRefused(try await server.exchangeToken(try #require(exchanged), client: setup.resourceServer,
                                                                 changes: ["audience": Self.upstream]), "invalid_request")
        }
    }

    // MARK: Refusals of the target

    @Test("RFC 8693 §2.2.2: an audience that is not a configured upstream is invalid_target")
    func wrongAudience() async throws {
        try await Self.run { setup in
            let server = setup.server
            for changes: [String: String?] in [
                ["audience": "https://evil.example/mcp"],
                ["audience": Self.plainUpstream],  // its resource does not ask for identity.token
                ["audience": Self.crm],  // a resource of ours is no upstream
                ["audience": server.issuer],
                ["audience": "http://127.0.0.1:3001/mcp/tools"],
                ["audience": "not a url"],
                ["audience": Self.upstream, "resource": Self.filesUpstream],  // one target per exchange
            ] {
                Refused.expectRefused(try await server.exchangeToken(setup.subject, client: setup.resourceServer, changes: changes),
                                      "invalid_target", Comment(rawValue: "\(changes)"))
            }
        }
    }

    @Test("Without a config file there is no upstream: every audience is invalid_target")
    func noConfiguredUpstreams() async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let tokens = try await server.issueTokens(client, browser: &browser)
            let resourceServer = try await server.createResourceServerClient()
            Refused.expectRefused(try await server.exchangeToken(tokens.accessToken, client: resourceServer), "invalid_target")
        }
    }

    // MARK: Refusals of the client

    @Test("RFC 6749 §5.2: an unknown or unauthenticated client is 401 invalid_client")
    func unauthenticatedClient() async throws {
        try await Self.run { setup in
            let unknown = RegisteredClient(id: "no-such-resource-server", secret: String(repeating: "x", count: 43),
                                           redirectURI: "", authMethod: "client_secret_basic")
            let wrongSecret = RegisteredClient(id: setup.resourceServer.id, secret: String(repeating: "y", count: 43),
                                               redirectURI: "", authMethod: "client_secret_basic")
            let noSecret = RegisteredClient(id: setup.resourceServer.id, secret: nil, redirectURI: "", authMethod: "none")
            for client in [unknown, wrongSecret, noSecret] {
                Refused.expectRefused(try await setup.server.exchangeToken(setup.subject, client: client), "invalid_client",
                                      status: .unauthorized, Comment(rawValue: "\(client.id) \(client.authMethod)"))
            }
        }
    }

    @Test("RFC 8693 §5: a client not allowed to exchange (public, or a registered confidential one) is unauthorized_client")
    func clientNotAllowed() async throws {
        try await Self.run { setup in
            let confidential = try await setup.server.registerClient(authMethod: "client_secret_basic")
            for client in [setup.client, confidential] {
                Refused.expectRefused(try await setup.server.exchangeToken(setup.subject, client: client), "unauthorized_client",
                                      Comment(rawValue: client.authMethod))
            }
            #expect(try await setup.server.auditEvents("token_exchange_refused", client: confidential.id) == 1)
        }
    }

    // MARK: Refusals of the request

    @Test("RFC 8693 §2.2.2: a token type other than access_token, an actor token, or a missing parameter is invalid_request")
    func invalidRequests() async throws {
        try await Self.run { setup in
            let refreshType = "urn:ietf:params:oauth:token-type:refresh_token"
            let cases: [[String: String?]] = [
                ["subject_token_type": refreshType],
                ["subject_token_type": "urn:ietf:params:oauth:token-type:jwt"],
                ["subject_token_type": "urn:ietf:params:oauth:token-type:id_token"],
                ["requested_token_type": refreshType],
                ["actor_token": setup.subject, "actor_token_type": Self.accessTokenType],
                ["actor_token_type": Self.accessTokenType],
                ["subject_token": nil],
                ["subject_token_type": nil],
                ["audience": nil],
            ]
            for changes in cases {
                Refused.expectRefused(try await setup.server.exchangeToken(setup.subject, client: setup.resourceServer, changes: changes),
                                      "invalid_request", Comment(rawValue: "\(changes)"))
            }
            // The refresh token, honestly typed, is still refused.
            Refused.expectRefused(try await setup.server.exchangeToken(
                setup.tokens.refreshToken, client: setup.resourceServer, changes: ["subject_token_type": refreshType]), "invalid_request")
            // RFC 6749 §3.2: a repeated parameter.
            Refused.expectRefused(try await setup.server.exchangeToken(
                setup.subject, client: setup.resourceServer, extra: [("subject_token", setup.subject)]), "invalid_request")
        }
    }

    // MARK: The resource server's client

    @Test("The resource server's client cannot sign anyone in: /authorize refuses it, the code grant has nothing for it")
    func resourceServerClientHasNoOtherGrant() async throws {
        try await Self.run { setup in
            let pkce = PKCE()
            let page = try await setup.server.get("/authorize?" + FormEncoding.query([
                ("response_type", "code"), ("client_id", setup.resourceServer.id), ("redirect_uri", "http://127.0.0.1:33418/callback"),
                ("code_challenge", pkce.challenge), ("code_challenge_method", "S256"), ("state", "s"),
            ]))
            #expect(page.status == .badRequest && page.location == nil && page.isHTML)
            Refused.expectRefused(try await setup.server.tokenRequest(
                [("grant_type", "authorization_code"), ("code", "anything"), ("redirect_uri", "http://127.0.0.1:33418/callback"),
                 ("code_verifier", pkce.verifier)], client: setup.resourceServer), "invalid_grant")
        }
    }

    @Test("RFC 8414 §2: the grant type is advertised")
    func advertised() async throws {
        try await TestAuthServer.run { server in
            let json = try await server.get("/.well-known/oauth-authorization-server").json
            #expect((json["grant_types_supported"] as? [String])?.contains(TokenExchangeGrant.grantType) == true)
        }
    }

    @Test("The upstreams of identity.token resources are the targets; an upstream may not be a resource of ours")
    func configuration() throws {
        let database = "postgres://gatehouse@127.0.0.1:5432/none"
        let good = try AuthServerFixture.configuration(databaseURL: database, overrides: ["GATEHOUSE_CONFIG": Self.configPath])
        #expect(good.tokenExchange.targets == [
            .init(audience: Self.upstream, resources: [Self.crm]),
            .init(audience: Self.filesUpstream, resources: ["http://localhost:8000/mcp/files"]),
        ])
        #expect(good.tokenExchange.lifetime == 300)
        #expect(throws: ConfigurationError.self) {
            try AuthServerFixture.configuration(
                databaseURL: database, overrides: ["GATEHOUSE_CONFIG": Self.configPath, "GATEHOUSE_TOKEN_EXCHANGE_TTL": "5"])
        }
        let fromFile = try AuthServerFixture.configuration(
            databaseURL: database, overrides: ["GATEHOUSE_CONFIG": Self.writeConfig("token_exchange_ttl: 120\n" + Self.config)])
        #expect(fromFile.tokenExchange.lifetime == 120)
        let loop = Self.writeConfig("""
            resources:
              - path: /mcp/crm
                name: CRM
                scopes: {crm:read: Read the CRM}
                tools: {"*": [crm:read]}
                upstream: {http: {url: "http://LOCALHOST:8000/mcp/crm/"}}
                identity: {token: true}
            """)
        #expect(throws: ConfigurationError.self) {
            try AuthServerFixture.configuration(databaseURL: database, overrides: ["GATEHOUSE_CONFIG": loop])
        }
    }
}

extension TestAuthServer {
    /// The resource server's client, as `clients create-resource-server` creates it.
    func createResourceServerClient() async throws -> RegisteredClient {
        let id = TestDatabase.uniqueName("resource-server"), secret = SecureRandom.token()
        let outcome = try await ClientStore(database: database)
            .upsertResourceServer(Client.resourceServer(id: id, secret: secret, now: clock.clock.now()))
        #expect(outcome == .created)
        return RegisteredClient(id: id, secret: secret, redirectURI: "", authMethod: "client_secret_basic")
    }

    /// A valid exchange of `subject` for `TokenExchangeTests.upstream`; `changes` replace (or, with
    /// nil, remove) parameters, `extra` are appended.
    func exchangeToken(_ subject: String, client: RegisteredClient, changes: [String: String?] = [:],
                       extra: [(String, String)] = []) async throws -> Reply {
        var fields: [(String, String?)] = [
            ("grant_type", TokenExchangeGrant.grantType), ("subject_token", subject),
            ("subject_token_type", TokenExchangeTests.accessTokenType), ("audience", TokenExchangeTests.upstream),
        ]
        for (name, _) in changes where !fields.contains(where: { $0.0 == name }) { fields.append((name, nil)) }
        let final = fields.compactMap { name, value in
            (changes.keys.contains(name) ? changes[name]! : value).map { (name, $0) }
        }
        return try await tokenRequest(final + extra, client: client)
    }

    /// The claims of an exchanged token, after checking it as an upstream would: `typ`, and the
    /// signature with a key of our JWKS.
    func verifiedExchangedClaims(_ token: String) async throws -> ExchangedTokenClaims {
        let parsed = try JWTParser.parse(token, expectedType: "at+jwt")
        let jwks = try await get("/jwks.json").json["keys"] as? [[String: Any]] ?? []
        let jwk = try #require(jwks.first { $0["kid"] as? String == parsed.header.kid })
        let key = try RSAKey(publicJWK: JSONDecoder().decode(JWK.self, from: JSONSerialization.data(withJSONObject: jwk)))
        try parsed.verifySignature(with: key)
        return try parsed.decodePayload(ExchangedTokenClaims.self)
    }

    func auditEvents(_ kind: String, client: String) async throws -> Int {
        try await count("SELECT count(*)::int FROM audit_events WHERE kind = \(kind) AND client_id = \(client)")
    }
}
