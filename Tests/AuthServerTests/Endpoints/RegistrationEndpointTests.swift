import Foundation
import HTTPTypes
import NIOCore
import Shared
import Testing
@testable import AuthServer

/// Dynamic client registration (RFC 7591), with the bodies the real MCP clients send.
@Suite(.serialized) struct RegistrationEndpointTests {
    /// Kept in the repository (Tests/Fixtures/registration-bodies), so the test runs on any clone.
    static let recordedClients: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("Fixtures/registration-bodies").path
    }()

    static func recordedBodies() throws -> [(String, String)] {
        let names = try FileManager.default.contentsOfDirectory(atPath: recordedClients).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            (name, try String(contentsOfFile: "\(recordedClients)/\(name)", encoding: .utf8))
        }
    }

    @Test("RFC 7591 §3.2.1: every recorded MCP client body registers and the response echoes its metadata, over real HTTP")
    func recordedClientsRegister() async throws {
        let bodies = try Self.recordedBodies()
        #expect(bodies.count >= 6)
        try await TestAuthServer.run(.live) { server in
            for (name, body) in bodies {
                let sent = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
                let reply = try await server.postJSON("/register", body)
                #expect(reply.status == .created, "\(name): \(reply.body)")
                #expect(reply.headers[.cacheControl] == "no-store", "\(name)")
                let json = reply.json
                #expect((json["client_id"] as? String)?.isEmpty == false, "\(name)")
                #expect(json["client_id_issued_at"] is Int, "\(name)")
                #expect(json["redirect_uris"] as? [String] == sent["redirect_uris"] as? [String], "\(name)")
                #expect(json["client_name"] as? String == sent["client_name"] as? String, "\(name)")
                #expect(json["grant_types"] as? [String] == sent["grant_types"] as? [String], "\(name)")
                #expect(json["response_types"] as? [String] == ["code"], "\(name)")
                let method = sent["token_endpoint_auth_method"] as? String ?? "client_secret_basic"
                #expect(json["token_endpoint_auth_method"] as? String == method, "\(name)")
                if let uri = sent["client_uri"] as? String { #expect(json["client_uri"] as? String == uri, "\(name)") }
                // A public client gets no secret: some SDKs switch to Basic auth when they see one.
                #expect((json["client_secret"] != nil) == (method != "none"), "\(name)")
            }
        }
    }

    @Test("RFC 7591 §3.2.1: a confidential client's secret is returned once and stored only as its SHA-256")
    func secretsAreStoredHashed() async throws {
        try await TestAuthServer.run { server in
            for method in ["client_secret_basic", "client_secret_post"] {
                let client = try await server.registerClient(authMethod: method)
                let secret = try #require(client.secret)
                #expect(secret.count >= 43)
                let rows = try await server.database.query(
                    "SELECT secret_hash, token_endpoint_auth_method FROM clients WHERE client_id = \(client.id)")
                let columns = try #require(rows.first).columns
                let (hash, stored): (ByteBuffer, String) = (try columns["secret_hash"], try columns["token_endpoint_auth_method"])
                let bytes = Array(buffer: hash)
                #expect(bytes.count == 32)
                #expect(bytes != Array(secret.utf8))
                #expect(bytes == Digest.sha256(secret))
                #expect(stored == method)
            }
            let publicClient = try await server.registerClient(authMethod: "none")
            #expect(publicClient.secret == nil)
            let rows = try await server.database.query("SELECT secret_hash FROM clients WHERE client_id = \(publicClient.id)")
            #expect(try #require(rows.first).decode(ByteBuffer?.self) == nil)
        }
    }

    @Test("Claude registers scope \"mcp\": unknown scopes are narrowed away, not fatal")
    func unknownScopesAreNarrowed() async throws {
        try await TestAuthServer.run { server in
            let claude = try String(contentsOfFile: "\(Self.recordedClients)/claude.json", encoding: .utf8)
            let reply = try await server.postJSON("/register", claude)
            #expect(reply.status == .created)
            // Nothing known is left, so the client gets every scope we have as its default.
            #expect(reply.json["scope"] as? String == ScopeCatalog.names.joined(separator: " "))
            let mixed = try await server.register(["redirect_uris": ["https://app.example.com/cb"], "scope": "mcp notes:read",
                                                   "token_endpoint_auth_method": "none"])
            #expect(mixed.status == .created && mixed.json["scope"] as? String == "notes:read")
        }
    }

    @Test("RFC 7591 §3.2.2 and RFC 8252: unsafe or malformed redirect URIs are invalid_redirect_uri, and nothing is stored",
          arguments: [
              "http://app.example.com/callback",       // http only for loopback
              "javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd",
              "https://app.example.com/cb#fragment",   // RFC 6749 §3.1.2: no fragment
              "/relative/callback", "callback",
              // Issue 9 C.3: loopback is a literal or `localhost`, never a name that starts with 127.
              "http://127.attacker.example/cb", "http://127.0.0.1.nip.io/cb", "http://localhost.attacker.example/cb",
              "http://[::2]/cb", "http://0x7f.0.0.1/cb",
              // Issue 9 A.2: private-use schemes are fine, dangerous ones are not.
              "vbscript:msgbox", "blob:https://a.example/1", "view-source:https://a.example", "mailto:a@example.com",
              "ws://127.0.0.1/cb", "ftp://a.example/cb",
              "https://user:pass@app.example.com/cb",
          ])
    func badRedirectURIs(uri: String) async throws {
        try await TestAuthServer.run { server in
            let marker = TestMarker()
            let reply = try await server.register(["redirect_uris": [uri], "client_name": marker.name, "token_endpoint_auth_method": "none"])
            #expect(reply.status == .badRequest, "\(uri)")
            #expect(reply.error == "invalid_redirect_uri", "\(uri): \(reply.body)")
            #expect(try await marker.rows(server) == 0)
        }
    }

    /// Issue 9 A.2: real native clients use short private-use schemes (Cursor:
    /// `cursor://anysphere.cursor-mcp/oauth/callback`), not reverse domain names.
    @Test("RFC 8252 §7.1: private-use schemes of real clients register and are matched exactly",
          arguments: ["cursor://anysphere.cursor-mcp/oauth/callback", "myapp:/callback", "com.example.app:/oauth2redirect",
                      "warp://mcp/oauth2callback", "http://[::1]:8080/cb", "http://127.0.0.1:33418"])
    func privateUseSchemes(uri: String) async throws {
        try await TestAuthServer.run { server in
            let client = try await server.registerClient(["redirect_uris": [uri]])
            var browser = Browser(server)
            let page = try await browser.authorize(server.authorizeParameters(client, PKCE()))
            #expect(page.isLoginPage, "\(uri): \(page.status)")
            if !uri.hasPrefix("http:") {
                // Exact match: another path or a changed case is not the registered URI.
                for variant in [uri + "x", uri.uppercased()] {
                    let reply = try await browser.authorize(server.authorizeParameters(client, PKCE(), changes: ["redirect_uri": variant]))
                    AuthorizeEndpointTests.expectErrorPage(reply, "\(variant)")
                }
            }
        }
    }

    /// Issue 9 C.14: PostgreSQL refuses 0x00 in text, which used to surface as a 503.
    @Test("RFC 7591 §3.2.2: NUL and other control characters in any string are invalid_client_metadata, never 5xx")
    func controlCharacters() async throws {
        try await TestAuthServer.run(.live) { server in
            let marker = TestMarker()
            let bodies = [
                #"{"redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)\u0000x"}"#,
                #"{"redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)\nforged log line"}"#,
                #"{"redirect_uris":["https://app.example.com/c\u0000b"],"client_name":"\#(marker.name)"}"#,
                #"{"redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)","client_uri":"https://a.example/\u0000"}"#,
                #"{"redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)","scope":"notes:read\u0000"}"#,
            ]
            for body in bodies {
                let reply = try await server.postJSON("/register", body)
                #expect(reply.status == .badRequest, "\(body): \(reply.status)")
                #expect(reply.error == "invalid_client_metadata", "\(body): \(reply.body)")
            }
            #expect(try await marker.rows(server) == 0)
        }
    }

    @Test("RFC 7591 §3.1: a body that is not application/json is 415, even if it parses as JSON, and nothing is stored")
    func contentTypeMustBeJSON() async throws {
        try await TestAuthServer.run(.live) { server in
            let marker = TestMarker()
            let body = #"{"redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)","token_endpoint_auth_method":"none"}"#
            for contentType in ["text/plain", "application/x-www-form-urlencoded", "application/jsonx", nil] as [String?] {
                var headers: HTTPFields = [:]
                if let contentType { headers[.contentType] = contentType }
                let reply = try await server.send(.post, "/register", headers: headers, body: body)
                #expect(reply.status == .unsupportedMediaType, "\(contentType ?? "none"): \(reply.status)")
                #expect(reply.error == "invalid_client_metadata", "\(contentType ?? "none")")
            }
            #expect(try await marker.rows(server) == 0)
            let charset = try await server.send(.post, "/register", headers: [.contentType: "Application/JSON; charset=utf-8"], body: body)
            #expect(charset.status == .created)
        }
    }

    @Test("RFC 7591 §3.2.2: missing or empty redirect_uris is invalid_redirect_uri")
    func missingRedirectURIs() async throws {
        try await TestAuthServer.run { server in
            for metadata: [String: Any] in [["client_name": "x"], ["redirect_uris": [String]()]] {
                let reply = try await server.register(metadata)
                #expect(reply.status == .badRequest && reply.error == "invalid_redirect_uri", "\(reply.body)")
            }
        }
    }

    @Test("RFC 7591 §3.2.2: malformed JSON, wrong shapes, unknown methods and grants are invalid_client_metadata")
    func invalidMetadata() async throws {
        try await TestAuthServer.run { server in
            let marker = TestMarker()
            let redirect = #""redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)""#
            let bodies = [
                "{not json", "[]", "\"a string\"", "",
                #"{"redirect_uris":"https://app.example.com/cb","client_name":"\#(marker.name)"}"#,
                #"{"redirect_uris":[42],"client_name":"\#(marker.name)"}"#,
                #"{"redirect_uris":["https://app.example.com/cb"],"client_name":17}"#,
                #"{\#(redirect),"token_endpoint_auth_method":"private_key_jwt"}"#,
                #"{\#(redirect),"token_endpoint_auth_method":["none"]}"#,
                #"{\#(redirect),"grant_types":["client_credentials"]}"#,
                #"{\#(redirect),"grant_types":["authorization_code","implicit"]}"#,
                #"{\#(redirect),"grant_types":["refresh_token"]}"#,
                #"{\#(redirect),"grant_types":[]}"#,
                #"{\#(redirect),"response_types":["token"]}"#,
                #"{\#(redirect),"application_type":"desktop"}"#,
                #"{\#(redirect),"client_uri":"javascript:alert(1)"}"#,
            ]
            for body in bodies {
                let reply = try await server.postJSON("/register", body)
                #expect(reply.status == .badRequest, "\(body): \(reply.status)")
                #expect(reply.error == "invalid_client_metadata", "\(body): \(reply.body)")
            }
            #expect(try await marker.rows(server) == 0)
        }
    }

    @Test("A body over 64 KiB is refused with 413, never 500, and nothing is stored")
    func oversizedBody() async throws {
        try await TestAuthServer.run(.live) { server in
            let marker = TestMarker()
            let padding = String(repeating: "a", count: 70 * 1024)
            let body = #"{"redirect_uris":["https://app.example.com/cb"],"client_name":"\#(marker.name)","padding":"\#(padding)"}"#
            let reply = try await server.postJSON("/register", body)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.error == "invalid_client_metadata")
            #expect(try await marker.rows(server) == 0)
        }
    }
}

/// A unique client_name, to check that a refused registration left no row behind.
struct TestMarker: Sendable {
    let name = "marker-\(UUID().uuidString)"

    func rows(_ server: TestAuthServer) async throws -> Int {
        try await server.count("SELECT count(*)::int FROM clients WHERE client_name = \(name)")
    }
}
