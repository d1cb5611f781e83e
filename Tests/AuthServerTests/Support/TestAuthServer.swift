import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// The real authorization server (the production builder, port 0, real PostgreSQL) with a test
/// clock, and a client that speaks to it through the router or over a real socket.
struct TestAuthServer: Sendable {
    enum Mode: Sendable {
        /// Through the full middleware chain and router, without a socket.
        case router
        /// Over a real HTTP connection (one connection: requests run one after another; use
        /// `postFormOnNewConnection` to race requests).
        case live
    }

    let client: any TestClientProtocol
    let clock: TestClock
    let environment: AuthServerEnvironment
    /// This test's own client address (sent as X-Forwarded-For), so throttling in one test
    /// never reaches another.
    let address: String
    let username: String
    var password: String { AuthServerFixture.password }
    var issuer: String { AuthServerFixture.issuer }
    var resource: String { AuthServerFixture.resource }
    var database: Database { environment.database }

    static func run<T: Sendable>(
        _ mode: Mode = .router, overrides: [String: String] = [:], clock: TestClock = .aheadOfNow(),
        _ body: @escaping @Sendable (TestAuthServer) async throws -> T
    ) async throws -> T {
        let fixture = try await AuthServerFixture.shared()
        let configuration = try AuthServerFixture.configuration(databaseURL: fixture.databaseURL, overrides: overrides)
        let server = try buildAuthServer(configuration: configuration, logger: AuthServerFixture.logger, clock: clock.clock,
                                         passwordHasher: AuthServerFixture.passwordHasher)
        let setup: TestingSetup = switch mode {
        case .router: .router
        case .live: .live
        }
        let address = "198.18.\(Int.random(in: 0...255)).\(Int.random(in: 1...254))-\(UUID().uuidString.prefix(8))"
        return try await server.application.test(setup) { client in
            // A person of this test's own: the login throttle counts per account too, and a
            // pending sign-in counts as a failure until it settles, so two dozen tests signing
            // in as one shared person at once, on a loaded machine, throttled each other (429).
            let username = TestDatabase.uniqueName("reader")
            _ = try await UserStore(database: server.environment.database, hasher: AuthServerFixture.passwordHasher)
                .create(username: username, password: AuthServerFixture.password)
            return try await body(TestAuthServer(client: client, clock: clock, environment: server.environment,
                                                 address: address, username: username))
        }
    }

    // MARK: Requests

    func send(_ method: HTTPRequest.Method, _ path: String, headers: HTTPFields = [:], body: String? = nil) async throws -> Reply {
        var headers = headers
        if headers[.xForwardedFor] == nil { headers[.xForwardedFor] = address }
        let response = try await client.executeRequest(
            uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        return Reply(response: response)
    }

    func get(_ path: String, headers: HTTPFields = [:]) async throws -> Reply {
        try await send(.get, path, headers: headers)
    }

    /// POSTs an `application/x-www-form-urlencoded` body, parameters in the given order.
    func postForm(_ path: String, _ fields: [(String, String)], headers: HTTPFields = [:]) async throws -> Reply {
        var headers = headers
        headers[.contentType] = "application/x-www-form-urlencoded"
        return try await send(.post, path, headers: headers, body: FormEncoding.encode(fields))
    }

    /// POSTs a form over a connection of its own (`.live` only), so several requests can race.
    func postFormOnNewConnection(_ path: String, _ fields: [(String, String)], headers extra: HTTPFields = [:]) async throws -> Reply {
        let port = try #require(client.port, "postFormOnNewConnection needs a live server")
        var combined: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .xForwardedFor: address]
        combined.append(contentsOf: extra)
        let headers = combined
        // Longer than any server-side database timeout a test sets (LoginThrottleRaceTests: 30 s), so a
        // request queued behind others on a loaded machine gets its answer, not the client's 15 s default.
        let response = try await TestClient.withClient(host: "127.0.0.1", port: port,
                                                       configuration: .init(timeout: .seconds(60))) { connection in
            try await connection.execute(.init(path, method: .post, headers: headers,
                                               body: ByteBuffer(string: FormEncoding.encode(fields))))
        }
        return Reply(head: response.head, body: response.body ?? ByteBuffer())
    }

    func postJSON(_ path: String, _ body: String) async throws -> Reply {
        try await send(.post, path, headers: [.contentType: "application/json"], body: body)
    }

    // MARK: Database look-ups for "nothing was issued" assertions

    func count(_ query: PostgresQuery) async throws -> Int {
        try await database.query(query).first?.decode(Int.self) ?? 0
    }

    func isRevoked(jti: String) async throws -> Bool {
        try await count("SELECT count(*)::int FROM revoked_access_tokens WHERE jti = \(jti)") > 0
    }

    func tokenFamilies(of clientID: String) async throws -> Int {
        try await count("SELECT count(*)::int FROM token_families WHERE client_id = \(clientID)")
    }

    func revokedTokenFamilies(of clientID: String) async throws -> Int {
        try await count("SELECT count(*)::int FROM token_families WHERE client_id = \(clientID) AND revoked_at IS NOT NULL")
    }
}

/// One HTTP answer, with the views the tests need.
struct Reply: Sendable {
    let head: HTTPResponse
    let body: String
    var status: HTTPResponse.Status { head.status }
    var headers: HTTPFields { head.headerFields }

    init(head: HTTPResponse, body: ByteBuffer) {
        self.head = head
        self.body = String(buffer: body)
    }

    init(response: TestResponse) { self.init(head: response.head, body: response.body) }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] ?? [:] }
    /// The OAuth `error` code of a JSON error body.
    var error: String? { json["error"] as? String }
    var isHTML: Bool { headers[.contentType]?.hasPrefix("text/html") ?? false }

    var location: String? { headers[.location] }
    /// The query parameters of the `Location` header (the authorization response).
    var redirectParameters: [String: String] {
        guard let location, let items = URLComponents(string: location)?.queryItems else { return [:] }
        return Dictionary(items.map { ($0.name, $0.value ?? "") }, uniquingKeysWith: { first, _ in first })
    }

    /// `Set-Cookie` headers by cookie name: (value, the full header).
    var cookies: [String: (value: String, header: String)] {
        var cookies: [String: (String, String)] = [:]
        for header in headers[values: .setCookie] {
            let pair = header.split(separator: ";", maxSplits: 1)[0]
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            cookies[String(parts[0]).trimmingCharacters(in: .whitespaces)] = (String(parts[1]), header)
        }
        return cookies
    }

    /// The value of a hidden form field of our login or consent page.
    func hiddenField(_ name: String) -> String? {
        guard let range = body.range(of: "name=\"\(name)\" value=\"") else { return nil }
        let rest = body[range.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }

    var isLoginPage: Bool { isHTML && body.contains("action=\"/login\"") }
    var isConsentPage: Bool { isHTML && body.contains("action=\"/consent\"") }
}

enum FormEncoding {
    /// RFC 6749 Appendix B: application/x-www-form-urlencoded, unreserved characters kept.
    static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func encode(_ fields: [(String, String)]) -> String {
        fields.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    static func query(_ fields: [(String, String)]) -> String { encode(fields) }
}
