import Foundation
import HTTPTypes
import TestSupport
import Testing
@testable import ResourceServer

/// Issue 9 C.15: the deploy recipes block `location = /metrics`; the router also matched
/// `/metrics/`, `//metrics` and `/metrics//`, which passed that block. Only the exact path is served.
@Suite("Metrics route")
struct MetricsRouteTests {
    @Test("only the exact /metrics is served; variants are 404", arguments: [
        "/metrics/", "//metrics", "/metrics//", "//metrics/", "/metrics?x", "/metrics?", "/METRICS", "/Metrics",
        "/%6Detrics", "/metrics%2F",
    ])
    func variants(_ path: String) async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let reply = try await client.send(.get, path)
            #expect(reply.status == .notFound, "\(path): \(reply.status)")
            #expect(!reply.body.contains("# TYPE"), "\(path)")
            #expect(try await client.send(.get, "/metrics").status == .ok)
        }
    }

    @Test("/metrics is not served to a request that came through a reverse proxy", arguments: [
        "X-Forwarded-For", "Forwarded", "Fly-Client-IP",
    ])
    func proxied(_ header: String) async throws {
        let clock = TestClock()
        try await ResourceServerHarness.withServer(clock: clock) { authorizationServer, client in
            let reply = try await client.send(.get, "/metrics", headers: [HTTPField.Name(header)!: "203.0.113.9"])
            #expect(reply.status == .notFound)
            #expect(try await client.send(.get, "/metrics").status == .ok)
        }
    }
}
