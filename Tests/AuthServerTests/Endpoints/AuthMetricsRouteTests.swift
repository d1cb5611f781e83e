import Foundation
import Testing
@testable import AuthServer

/// Issue 9 C.15: the router also matched `/metrics/`, `//metrics` and `/metrics//`, which pass the
/// deploy recipes' `location = /metrics` block. The AuthServer serves only the exact path, and
/// never through a reverse proxy (this harness sends X-Forwarded-For, as every proxy recipe does).
@Suite struct AuthMetricsRouteTests {
    @Test("/metrics through a proxy, and every variant of the path, is 404")
    func variants() async throws {
        try await TestAuthServer.run { server in
            for path in ["/metrics", "/metrics/", "//metrics", "/metrics//", "/metrics?x", "/METRICS", "/%6Detrics"] {
                let reply = try await server.send(.get, path)
                #expect(reply.status == .notFound, "\(path): \(reply.status)")
            }
        }
    }
}
