import TestSupport
@testable import AuthServer

/// How the authorization server may reach the test's `DocumentServer`, which listens on 127.0.0.1.
enum DocumentFetching: Sendable {
    /// `GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK=true`: the server fetches documents from it.
    case loopbackAllowed
    /// The production rules: loopback hosts and `http://` client IDs are refused.
    case productionRules

    var overrides: [String: String] {
        switch self {
        case .loopbackAllowed: ["GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK": "true"]
        case .productionRules: [:]
        }
    }
}

extension TestAuthServer {
    /// The authorization server together with a client's web server that publishes client ID
    /// metadata documents and JWKS: the one harness for tests that fetch from a client's host.
    /// The document server starts first and stops last, so it answers every fetch made while
    /// `body` runs; `overrides` go on top of those `documents` sets.
    static func run<T: Sendable>(
        _ mode: Mode = .router, overrides: [String: String] = [:], clock: TestClock = .aheadOfNow(),
        documents: DocumentFetching,
        _ body: @escaping @Sendable (TestAuthServer, DocumentServer) async throws -> T
    ) async throws -> T {
        try await DocumentServer.run { docs in
            try await run(mode, overrides: documents.overrides.merging(overrides) { $1 }, clock: clock) { server in
                try await body(server, docs)
            }
        }
    }
}
