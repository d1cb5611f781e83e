import Foundation
import HTTPTypes
import Shared
import Testing
@testable import AuthServer

/// The AuthServer with a `GATEHOUSE_CONFIG` file of two resources: it accepts exactly those for
/// `resource` (RFC 8707), grants each only its own scopes (plus the OpenID ones), names the
/// resource and its scope texts on the consent page, and puts the requested resource in `aud`.
@Suite("Configured resources at the AuthServer (GATEHOUSE_CONFIG)")
struct ConfiguredResourcesAuthTests {
    static let config = """
        resources:
          - path: /mcp/notes
            builtin: notes
            name: Team notes
          - path: /mcp/crm
            name: CRM
            scopes:
              crm:read: Read the CRM
              crm:write: Change the CRM
            tools: {"*": [crm:read]}
            upstream: {http: {url: "http://127.0.0.1:3001/mcp"}}
        """
    static let crm = "http://localhost:8000/mcp/crm"
    static let notes = "http://localhost:8000/mcp/notes"

    /// The config file, written once per process (its content never changes).
    static let path: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-as-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try! config.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }()

    static func run(_ body: @escaping @Sendable (TestAuthServer) async throws -> Void) async throws {
        try await TestAuthServer.run(overrides: ["GATEHOUSE_CONFIG": path], body)
    }

    static func claims(_ token: String) throws -> AccessTokenClaims {
        try JWTParser.parse(token, expectedType: "at+jwt").decodePayload(AccessTokenClaims.self)
    }

    @Test("metadata lists the OpenID scopes and every resource's scopes, and no offline_access")
    func metadata() async throws {
        try await Self.run { server in
            let reply = try await server.get("/.well-known/oauth-authorization-server")
            #expect(reply.json["scopes_supported"] as? [String] ==
                    ["openid", "profile", "email", "notes:read", "notes:write", "crm:read", "crm:write"])
        }
    }

    @Test("a token for the CRM: the consent page names it and its scope texts; aud is the CRM; other scopes are dropped")
    func crmToken() async throws {
        try await Self.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let pkce = PKCE()
            let parameters = server.authorizeParameters(client, pkce, changes: [
                "resource": Self.crm, "scope": "crm:read notes:read openid",
            ])
            let login = try await browser.authorize(parameters)
            let consent = try await browser.login(from: login)
            #expect(consent.isConsentPage)
            #expect(consent.body.contains("<strong>CRM</strong> <code>\(Self.crm)</code>"))
            #expect(consent.body.contains("Read the CRM <code>crm:read</code>"))
            #expect(!consent.body.contains("notes:read"))
            let redirect = try await browser.consent(from: consent)
            let code = try #require(redirect.redirectParameters["code"], "\(redirect.location ?? "")")
            let reply = try await server.exchange(code, client: client, verifier: pkce.verifier)
            try #require(reply.status == .ok, "\(reply.body)")
            let tokens = IssuedTokens(reply: reply)
            let claims = try Self.claims(tokens.accessToken)
            #expect(claims.aud == .one(Self.crm))
            #expect(ScopeSet(claims.scope).set == ["openid", "crm:read"])
            // Our own endpoints take a token for any configured resource.
            let userInfo = try await server.send(.get, "/userinfo", headers: [.authorization: "Bearer \(tokens.accessToken)"])
            #expect(userInfo.status == .ok, "\(userInfo.body)")
        }
    }

    @Test("no scope asked: the resource's own scopes; the built-in resource keeps its notes scopes and name")
    func defaultScope() async throws {
        try await Self.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            let crm = try await browser.issueTokensFor(server, client, changes: ["resource": Self.crm, "scope": nil])
            #expect(ScopeSet(try Self.claims(crm.accessToken).scope).set == ["crm:read", "crm:write"])
            let notes = try await browser.issueTokensFor(server, client, changes: ["resource": Self.notes, "scope": nil])
            let claims = try Self.claims(notes.accessToken)
            #expect(claims.aud == .one(Self.notes))
            #expect(ScopeSet(claims.scope).set == ["notes:read", "notes:write"])
        }
    }

    @Test("consent to one resource is not remembered for another")
    func consentPerResource() async throws {
        try await Self.run { server in
            let client = try await server.registerClient(["redirect_uris": ["https://app.example.com/callback"]])
            var browser = Browser(server)
            _ = try await browser.issueTokensFor(server, client, changes: ["resource": Self.crm, "scope": "openid"])
            // The same client and scope for the other resource shows the consent page again.
            let again = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: [
                "resource": Self.notes, "scope": "openid",
            ]))
            #expect(again.isConsentPage)
            #expect(again.body.contains("<strong>Team notes</strong>"))
        }
    }

    @Test("RFC 8707: only the configured resources are accepted", arguments: [
        ("the old default /mcp", "http://localhost:8000/mcp"),
        ("another origin", "https://other.example.com/mcp/crm"),
        ("a path below a resource", "http://localhost:8000/mcp/crm/x"),
    ])
    func refusedResource(name: String, resource: String) async throws {
        try await Self.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            // Signed in, so errors are redirected (before sign-in a loopback client sees our page).
            _ = try await browser.approve(server.authorizeParameters(client, PKCE(), changes: ["resource": Self.crm]))
            let reply = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["resource": resource]))
            AuthorizeEndpointTests.expectErrorRedirect(reply, client, error: "invalid_target", "\(name)")
        }
    }

    @Test("with several resources, resource is required, and two different ones are refused")
    func resourceRequired() async throws {
        try await Self.run { server in
            let client = try await server.registerClient()
            var browser = Browser(server)
            _ = try await browser.approve(server.authorizeParameters(client, PKCE(), changes: ["resource": Self.crm]))
            let absent = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["resource": nil]))
            AuthorizeEndpointTests.expectErrorRedirect(absent, client, error: "invalid_target")
            var parameters = server.authorizeParameters(client, PKCE(), changes: ["resource": Self.crm])
            parameters.append(("resource", Self.notes))
            let two = try await browser.authorize(parameters)
            AuthorizeEndpointTests.expectErrorRedirect(two, client, error: "invalid_target")
        }
    }

    @Test("a client may register a configured resource's scope")
    func registration() async throws {
        try await Self.run { server in
            let reply = try await server.register(TestAuthServer.publicClientMetadata.merging(["scope": "crm:read mcp"]) { $1 })
            #expect(reply.status == .created)
            #expect(reply.json["scope"] as? String == "crm:read")
        }
    }
}

extension Browser {
    /// The whole flow for `client`, returning the tokens.
    mutating func issueTokensFor(_ server: TestAuthServer, _ client: RegisteredClient,
                                 changes: [String: String?]) async throws -> IssuedTokens {
        try await server.issueTokens(client, browser: &self, changes: changes)
    }
}
