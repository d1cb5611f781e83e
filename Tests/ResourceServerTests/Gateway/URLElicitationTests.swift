import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Shared
import Testing
import TestSupport
@testable import ResourceServer

/// Issue 12, "Connections" item 3: a client that declared URL-mode elicitation at `initialize`
/// (MCP 2025-11-25, Client: Elicitation) gets a `URLElicitationRequiredError` (-32042) with the
/// connect link for a call that needs a connection it has not made; every other client gets the
/// tool error. The capability travels in the sealed `Mcp-Session-Id`, under its MAC.
@Suite("URL-mode elicitation for a missing connection")
struct URLElicitationTests {
    static let key = Array(repeating: UInt8(7), count: 32)
    static let resource = "http://localhost:8000/mcp/acme"

    // MARK: the session id

    @Test func theFeaturesAreSealedWithTheSessionAndAnyChangeFailsToVerify() async throws {
        let binding = GatewaySessionBinding(key: Self.key)
        let sealed = try await binding.seal("up.1", resource: Self.resource, subject: "alice", features: .urlElicitation)
        #expect(sealed.hasPrefix("up.1.") && sealed.count == "up.1.".count + 44)
        #expect(try await binding.session(sealed, resource: Self.resource, subject: "alice")
                == .init(upstreamID: "up.1", features: .urlElicitation))
        #expect(try await binding.open(sealed, resource: Self.resource, subject: "alice") == "up.1")
        #expect(try await binding.session(sealed, resource: Self.resource, subject: "bob") == nil)
        #expect(try await binding.session(sealed, resource: "http://localhost:8000/mcp/other", subject: "alice") == nil)

        let plain = try await binding.seal("up.1", resource: Self.resource, subject: "alice")
        #expect(try await binding.session(plain, resource: Self.resource, subject: "alice")?.features == [])
        // Claiming the feature on a session sealed without it (or dropping it) breaks the MAC.
        #expect(try await binding.session(Self.withFeatures(plain, 1), resource: Self.resource, subject: "alice") == nil)
        #expect(try await binding.session(Self.withFeatures(sealed, 0), resource: Self.resource, subject: "alice") == nil)
    }

    @Test func aVersionOneIdStillVerifiesAsNoFeatures() async throws {
        let binding = GatewaySessionBinding(key: Self.key)
        let mac = GatewaySessionBinding.mac(key: Self.key, upstreamID: "old", resource: Self.resource, subject: "alice")
        let old = "old." + Base64URL.encode(mac)
        #expect(try await binding.session(old, resource: Self.resource, subject: "alice") == .init(upstreamID: "old", features: []))
        // A v1 MAC is no v2 MAC: prefixing a features byte to it does not verify.
        #expect(try await binding.session("old." + Base64URL.encode([1] + mac), resource: Self.resource, subject: "alice") == nil)
        #expect(try await binding.session("old." + Base64URL.encode(Array(mac.dropLast())), resource: Self.resource,
                                          subject: "alice") == nil)
    }

    @Test("only a present capabilities.elicitation.url object is URL mode", arguments: [
        (#"{"elicitation":{"form":{},"url":{}}}"#, true),
        (#"{"elicitation":{"url":{}}}"#, true),
        (#"{"elicitation":{}}"#, false),
        (#"{"elicitation":{"form":{}}}"#, false),
        (#"{"elicitation":{"url":true}}"#, false),
        (#"{"sampling":{}}"#, false),
    ])
    func capabilities(capabilities: String, url: Bool) {
        let body = ByteBuffer(string: Self.initialize(capabilities: capabilities))
        #expect(SessionCapabilities.features(ofInitialize: body).contains(.urlElicitation) == url)
    }

    // MARK: through the ResourceServer

    @Test func aURLCapableSessionGetsMinus32042WithTheConnectLink() async throws {
        try await Self.withGateway { client, token, upstream in
            let session = try await Self.initialize(client, token: token, capabilities: #"{"elicitation":{"form":{},"url":{}}}"#)
            #expect(session.hasPrefix("up-1."))
            let reply = try await Self.call(client, token: token, session: session)
            #expect(reply.status == .ok)
            #expect(reply.json["id"] as? Int == 9)
            let error = try #require(reply.json["error"] as? [String: Any])
            #expect(error["code"] as? Int == -32042)
            let elicitations = try #require((error["data"] as? [String: Any])?["elicitations"] as? [[String: Any]])
            #expect(elicitations.count == 1)
            #expect(elicitations.first?["mode"] as? String == "url")
            // The connect link, bound to the caller (ConnectLinkBinding) by a token that is also the id.
            let id = try #require(elicitations.first?["elicitationId"] as? String)
            #expect(elicitations.first?["url"] as? String == "\(upstream.issuer)/connections/acme/connect?elicitation=\(id)")
            let links = ConnectLinkBinding(kek: upstream.kek)
            let subject = try #require(UUID(uuidString: token.minter.subject))
            #expect(links.verify(id, userID: subject, connectionID: "acme", now: Date()) == .valid)
            #expect(links.verify(id, userID: UUID(), connectionID: "acme", now: Date()) == .invalid)
            #expect((elicitations.first?["message"] as? String)?.contains("Acme") == true)
            #expect((elicitations.first?["message"] as? String)?.contains("http") == false)
            #expect(!upstream.server.requests.contains { $0.bodyText.contains("tools/call") })

            // The same session on another revision (2026-07-28 retired -32042): the tool error.
            let other = try await Self.call(client, token: token, session: session, version: "2025-06-18")
            #expect(other.status == .ok && other.isToolError && other.toolText.contains("/connections/acme/connect"))
        }
    }

    /// A stdio resource seals its own session ids (the gateway answers `initialize` from the
    /// child's result): the capability travels in them the same way.
    @Test func aStdioSessionCarriesTheCapabilityToo() async throws {
        let command = "[\(StdioFixture.python), \(StdioFixture.script)]"
        try await Self.withGateway(upstream: "stdio: {command: \(command)}") { client, token, _ in
            let capable = try await Self.initialize(client, token: token, capabilities: #"{"elicitation":{"url":{}}}"#)
            #expect(try await Self.call(client, token: token, session: capable).errorCode == URLElicitationRequired.code)
            let formOnly = try await Self.initialize(client, token: token, capabilities: #"{"elicitation":{}}"#)
            let reply = try await Self.call(client, token: token, session: formOnly)
            #expect(reply.status == .ok && reply.isToolError && reply.toolText.contains("/connections/acme/connect"))
        }
    }

    @Test func everyOtherClientGetsTheToolError() async throws {
        try await Self.withGateway { client, token, upstream in
            let formOnly = try await Self.initialize(client, token: token, capabilities: #"{"elicitation":{}}"#)
            let none = try await Self.initialize(client, token: token, capabilities: "{}")
            for session in [formOnly, none, nil] {
                let reply = try await Self.call(client, token: token, session: session)
                #expect(reply.status == .ok)
                #expect(reply.json["error"] == nil)
                #expect(reply.isToolError)
                #expect(reply.toolText.contains("\(upstream.issuer)/connections/acme/connect"))
            }
        }
    }

    @Test func anAlteredSessionIdIs404() async throws {
        try await Self.withGateway { client, token, _ in
            let formOnly = try await Self.initialize(client, token: token, capabilities: #"{"elicitation":{}}"#)
            for forged in [Self.withFeatures(formOnly, 1), formOnly + "x", "up-1"] {
                let reply = try await Self.call(client, token: token, session: forged)
                #expect(reply.status == .notFound)
                #expect(reply.errorCode == UpstreamFailure.sessionNotFoundCode)
            }
            // Another user's session, even a URL-capable one, is no session of this caller.
            let capable = try await Self.initialize(client, token: token, capabilities: #"{"elicitation":{"url":{}}}"#)
            let reply = try await Self.call(client, token: Self.token(token.minter, subject: UUID().uuidString), session: capable)
            #expect(reply.status == .notFound)
            #expect(reply.errorCode == UpstreamFailure.sessionNotFoundCode)
        }
    }

    // MARK: -

    struct Upstream: Sendable {
        let server: LocalServer
        let issuer: String
        /// The ResourceServer's GATEHOUSE_KEK.
        let kek: KeyEncryptionKey
    }

    struct Token: Sendable {
        let minter: TokenMinter
        let value: String
    }

    static func config(upstream: String) -> String {
        config(upstreamYAML: "http: {url: \(upstream), timeout: 5}")
    }

    static func config(upstreamYAML: String) -> String {
        """
        connections:
          - id: acme
            name: Acme
            authorization_endpoint: https://acme.example/authorize
            token_endpoint: https://acme.example/token
            client_id: gatehouse
            client_secret_env: ACME_SECRET
        resources:
          - path: /mcp/acme
            name: Acme tools
            scopes: {acme:use: Use Acme}
            tools: {"*": [acme:use]}
            connections: [acme]
            upstream: {\(upstreamYAML)}
        """
    }

    /// The production ResourceServer with one gateway resource needing `acme`, in front of a local
    /// upstream that opens session `up-1` at `initialize`; the caller has no Acme connection.
    static func withGateway(upstream yaml: String? = nil,
                            _ body: @escaping @Sendable (MCPTestClient, Token, Upstream) async throws -> Void) async throws {
        let server = try await LocalServer.start { _, received, _ in
            let text = String(buffer: received)
            if text.contains(#""initialize""#) {
                return HTTPUpstreamTests.json(#"{"jsonrpc":"2.0","id":1,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"u","version":"1"}}}"#,
                                              headers: [HTTPField.Name("Mcp-Session-Id")!: "up-1"])
            }
            return HTTPUpstreamTests.json(#"{"jsonrpc":"2.0","id":9,"result":{"content":[]}}"#)
        }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-elicit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try (yaml.map { config(upstreamYAML: $0) } ?? config(upstream: server.url)).write(toFile: path, atomically: true, encoding: .utf8)
        let clock = TestClock()
        let kekBase64 = Data(SecureRandom.bytes(32)).base64EncodedString()
        let kek = try KeyEncryptionKey(base64: kekBase64)
        do {
            try await StandInAuthorizationServer.withRunning { authorizationServer in
                let minter = TokenMinter(issuer: authorizationServer.issuer, clock: clock)
                let token = Self.token(minter, subject: UUID().uuidString.lowercased())
                try await ResourceServerHarness.withServer(
                    authorizationServer: authorizationServer, clock: clock,
                    overrides: ["GATEHOUSE_CONFIG": path, "GATEHOUSE_KEK": kekBase64,
                                "ACME_SECRET": "s"]) { client in
                    try await body(client, token, Upstream(server: server, issuer: authorizationServer.issuer, kek: kek))
                }
            }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    static func token(_ minter: TokenMinter, subject: String) -> Token {
        var minter = minter
        minter.audience = .one(resource)
        minter.scope = "acme:use"
        minter.subject = subject
        minter.jti = UUID().uuidString
        return Token(minter: minter, value: minter.token())
    }

    static func initialize(capabilities: String) -> String {
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":\#(capabilities),"clientInfo":{"name":"t","version":"1"}}}"#
    }

    /// `initialize` with `capabilities`; the sealed session id the gateway hands out.
    static func initialize(_ client: MCPTestClient, token: Token, capabilities: String) async throws -> String {
        let reply = try await client.post(body: initialize(capabilities: capabilities), token: token.value, path: "/mcp/acme")
        #expect(reply.status == .ok)
        return try #require(reply.headers[HTTPField.Name("Mcp-Session-Id")!])
    }

    static func call(_ client: MCPTestClient, token: Token, session: String?,
                     version: String = "2025-11-25") async throws -> MCPTestClient.Reply {
        var headers: HTTPFields = [HTTPField.Name("MCP-Protocol-Version")!: version]
        if let session { headers[HTTPField.Name("Mcp-Session-Id")!] = session }
        return try await client.post(body: #"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"lookup","arguments":{}}}"#,
                                     token: token.value, headers: headers, path: "/mcp/acme")
    }

    /// `sealed` with its features byte replaced (the MAC left as it was).
    static func withFeatures(_ sealed: String, _ byte: UInt8) -> String {
        let dot = sealed.lastIndex(of: ".")!
        let bytes = Base64URL.decode(String(sealed[sealed.index(after: dot)...]))!
        return String(sealed[...dot]) + Base64URL.encode([byte] + bytes.dropFirst())
    }
}
