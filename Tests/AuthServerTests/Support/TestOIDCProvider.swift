import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Shared
@testable import AuthServer

/// A small OpenID Provider on 127.0.0.1, port 0, for the federation tests: discovery, a JWKS of
/// real keys, and a token endpoint that checks the client's secret (Basic), the redirect URI and
/// the PKCE verifier against what the test registered for the code, then answers with an ID
/// token the test mints (signed through OpenSSL). The browser part of the flow (its
/// `/authorize`) is played by the test itself, which reads `state` and `nonce` from Gatehouse's
/// redirect.
final class TestOIDCProvider: Sendable {
    static let clientID = "gatehouse-test"
    static let clientSecret = "s3cret-of-the-test-provider"

    struct Expected: Sendable {
        let challenge: String
        let idToken: String
    }

    private struct State {
        var codes: [String: Expected] = [:]
        var tokenRequests = 0
        var lastTokenForm: [String: String] = [:]
    }

    let key: ClientKeyPair
    private let state = NIOLockedValueBox(State())
    private let portBox = NIOLockedValueBox(0)

    var port: Int { portBox.withLockedValue { $0 } }
    var issuer: String { "http://127.0.0.1:\(port)" }
    var tokenRequests: Int { state.withLockedValue { $0.tokenRequests } }
    var lastTokenForm: [String: String] { state.withLockedValue { $0.lastTokenForm } }

    init() throws { key = try ClientKeyPair(.rs256, kid: "test-provider-key") }

    static func run<T: Sendable>(_ body: @escaping @Sendable (TestOIDCProvider) async throws -> T) async throws -> T {
        let provider = try TestOIDCProvider()
        let router = Router()
        router.get("/.well-known/openid-configuration") { _, _ in provider.json([
            "issuer": provider.issuer, "authorization_endpoint": provider.issuer + "/authorize",
            "token_endpoint": provider.issuer + "/token", "jwks_uri": provider.issuer + "/jwks.json",
            "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            "id_token_signing_alg_values_supported": ["RS256"],
        ]) }
        router.get("/jwks.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: try provider.key.jwksJSON)))
        }
        router.post("/token") { request, _ in try await provider.token(request) }
        var logger = Logger(label: "test-oidc-provider")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in
            provider.portBox.withLockedValue { $0 = client.port ?? 0 }
            return try await body(provider)
        }
    }

    /// The token endpoint will answer `code` with `idToken`, once, if the verifier matches `challenge`.
    func expect(code: String, challenge: String, idToken: String) {
        state.withLockedValue { $0.codes[code] = Expected(challenge: challenge, idToken: idToken) }
    }

    /// A GATEHOUSE_CONFIG text naming this provider as `corp`.
    func configFile(allow: String = "{email_domains: [example.com]}", login: String = "") -> String {
        """
        \(login)
        identity_providers:
          - id: corp
            name: Corp SSO
            type: oidc
            issuer: \(issuer)
            client_id: \(Self.clientID)
            client_secret_env: CORP_TEST_SECRET
            allow: \(allow)
            allow_insecure_loopback: true
        """
    }

    /// Signs claims for the ID token of a sign-in (the standard ones, changed by `changes`).
    func idToken(nonce: String, subject: String = "sub-\(UUID().uuidString.prefix(8))", email: String = "jane@example.com",
                 changes: [String: Any?] = [:], now: Date = Date(), signer: ClientKeyPair? = nil) throws -> String {
        var claims: [String: Any] = [
            "iss": issuer, "sub": subject, "aud": Self.clientID, "nonce": nonce, "email": email, "email_verified": true,
            "name": "Jane Doe", "iat": Int(now.timeIntervalSince1970), "exp": Int(now.timeIntervalSince1970) + 300,
        ]
        for (name, value) in changes { claims[name] = value }
        return try (signer ?? key).sign(claims)
    }

    private func token(_ request: Request) async throws -> Response {
        let body = String(buffer: try await request.body.collect(upTo: 64 * 1024))
        var form: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            form[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        let expectedAuth = "Basic " + Data("\(Self.clientID):\(Self.clientSecret)".utf8).base64EncodedString()
        let expected: Expected? = state.withLockedValue { state in
            state.tokenRequests += 1
            state.lastTokenForm = form
            return state.codes.removeValue(forKey: form["code"] ?? "")
        }
        guard request.headers[.authorization] == expectedAuth else { return json(["error": "invalid_client"], status: .unauthorized) }
        guard let expected, form["grant_type"] == "authorization_code",
              Base64URL.encode(Digest.sha256(form["code_verifier"] ?? "")) == expected.challenge
        else { return json(["error": "invalid_grant"], status: .badRequest) }
        return json(["access_token": "at-\(UUID().uuidString)", "token_type": "Bearer", "id_token": expected.idToken])
    }

    private func json(_ object: [String: Any], status: HTTPResponse.Status = .ok) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object)) ?? Data()
        return Response(status: status, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
