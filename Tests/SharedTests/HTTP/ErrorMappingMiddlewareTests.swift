import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
@testable import Shared
import Testing

/// Every path to a 503 carries `Retry-After`: the store mapping, the middleware's backstop for a
/// database error that escaped a store, and a timeout. The PostgreSQL-restart chaos scenario
/// found refresh answers without it (a `BEGIN` that failed outside `StoreFailure.mapping`).
@Suite struct ErrorMappingMiddlewareTests {
    enum Failure: String, CaseIterable { case timeout, storeTimeout, cancelled }

    static func app() -> some ApplicationProtocol {
        let router = Router()
        router.middlewares.add(ErrorMappingMiddleware())
        router.get("/fail/:kind") { _, context -> String in
            switch Failure(rawValue: context.parameters.get("kind") ?? "") {
            case .timeout: throw DatabaseTimeoutError()
            case .storeTimeout: return try await StoreFailure.mapping("TestStore", "read") { throw DatabaseTimeoutError() }
            case .cancelled: throw CancellationError()
            case nil: throw HTTPError(.notFound)
            }
        }
        return Application(router: router)
    }

    @Test(arguments: Failure.allCases)
    func unavailableAnswersCarryRetryAfter(failure: Failure) async throws {
        try await Self.app().test(.router) { client in
            try await client.execute(uri: "/fail/\(failure.rawValue)", method: .get) { response in
                #expect(response.status == .serviceUnavailable)
                #expect(response.headers[.retryAfter] == "1")
                let body = try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: String]
                #expect(body?["error"] == "temporarily_unavailable")
            }
        }
    }
}
