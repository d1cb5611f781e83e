import Foundation
import TestSupport
import HTTPTypes
import Testing
@testable import ResourceServer

/// RFC 9728 documents, byte for byte: clients compare `resource` with the URL they were given and
/// `authorization_servers[0]` with the AS `issuer` exactly.
@Suite("Protected resource metadata (RFC 9728)")
struct ProtectedResourceMetadataTests {
    @Test("both well-known URLs serve the same exact document with CORS *")
    func documents() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let expected = """
                {"authorization_servers":["\(authorizationServer.issuer)"],"bearer_methods_supported":["header"],\
                "resource":"http://localhost:8000/mcp","resource_name":"Gatehouse notes",\
                "scopes_supported":["notes:read","notes:write"]}
                """
            for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"] {
                let reply = try await client.send(.get, path, headers: [HTTPField.Name("Origin")!: "https://anywhere.example"])
                #expect(reply.status == .ok)
                #expect(reply.body == expected)
                #expect(reply.headers[.contentType] == "application/json")
                #expect(reply.headers[.accessControlAllowOrigin] == "*")
                let preflight = try await client.send(.options, path)
                #expect(preflight.status == .noContent)
                #expect(preflight.headers[.accessControlAllowOrigin] == "*")
            }
        }
    }

    @Test("health, readiness and metrics answer")
    func health() async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            #expect(try await client.send(.get, "/healthz").status == .ok)
            let ready = try await client.send(.get, "/readyz")
            #expect(ready.status == .ok, "\(ready.body)")
            #expect(ready.body.contains(#""jwks":true"#))
            #expect(ready.body.contains(#""revocation_feed":true"#))
            #expect(try await client.send(.get, "/metrics").status == .ok)
        }
    }
}
