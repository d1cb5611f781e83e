import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import Shared
import Testing
@testable import ResourceServer

/// The RFC 8693 client against a stand-in token endpoint: what it sends, what it caches, and how
/// refusals come back. (Against the real AuthServer: Tests/e2e/test_gateway_http.py.)
@Suite("Token exchange client")
struct TokenExchangeClientTests {
    static let credentials = TokenExchangeClient.Credentials(clientID: "gatehouse-resource-server", clientSecret: "s3cret:+/ é")

    static func form(_ body: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            fields[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    @Test("sends the RFC 8693 form with client_secret_basic, and caches per (jti, audience) until shortly before exp")
    func exchangesAndCaches() async throws {
        let issued = NIOLockedValueBox(0)
        let endpoint = try await LocalServer.start { _, _, _ in
            let n = issued.withLockedValue { $0 += 1; return $0 }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string:
                #"{"access_token":"upstream-token-\#(n)","token_type":"Bearer","expires_in":300,"issued_token_type":"urn:ietf:params:oauth:token-type:access_token"}"#)))
        }
        let now = NIOLockedValueBox(1_000_000)
        let clock = Clock { Date(timeIntervalSince1970: TimeInterval(now.withLockedValue { $0 })) }
        let client = TokenExchangeClient(tokenEndpoint: endpoint.url, credentials: Self.credentials, httpClient: .shared, clock: clock)
        let logger = Logger(label: "test")
        let first = try await client.token(subjectToken: "client.jwt", tokenID: "jti-1", audience: "http://127.0.0.1:3001/mcp", logger: logger)
        let again = try await client.token(subjectToken: "client.jwt", tokenID: "jti-1", audience: "http://127.0.0.1:3001/mcp", logger: logger)
        let otherAudience = try await client.token(subjectToken: "client.jwt", tokenID: "jti-1", audience: "http://127.0.0.1:3002/mcp", logger: logger)
        #expect(first == "upstream-token-1" && again == first && otherAudience == "upstream-token-2")
        now.withLockedValue { $0 += 300 - 29 }  // within the margin (30 s for a 300 s token): replaced
        #expect(try await client.token(subjectToken: "client.jwt", tokenID: "jti-1", audience: "http://127.0.0.1:3001/mcp", logger: logger) == "upstream-token-3")

        let request = try #require(endpoint.requests.first)
        let fields = Self.form(request.bodyText)
        #expect(fields["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange")
        #expect(fields["subject_token"] == "client.jwt")
        #expect(fields["subject_token_type"] == "urn:ietf:params:oauth:token-type:access_token")
        #expect(fields["audience"] == "http://127.0.0.1:3001/mcp")
        #expect(request.headers[.contentType] == "application/x-www-form-urlencoded")
        // RFC 6749 §2.3.1: form-encode each part, then base64 "id:secret".
        let basic = try #require(request.headers[.authorization])
        let decoded = String(decoding: Data(base64Encoded: String(basic.dropFirst("Basic ".count)))!, as: UTF8.self)
        #expect(decoded == "gatehouse-resource-server:s3cret%3A%2B%2F+%C3%A9")
        await endpoint.stop()
    }

    @Test("refusals keep the OAuth error; an unreachable or failing endpoint is 'unavailable'")
    func refusalsAndOutages() async throws {
        let endpoint = try await LocalServer.start { _, body, _ in
            let status: HTTPResponse.Status = String(buffer: body).contains("revoked") ? .badRequest : .internalServerError
            return Response(status: status, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: #"{"error":"invalid_request","error_description":"the subject_token is invalid, expired or revoked"}"#)))
        }
        let client = TokenExchangeClient(tokenEndpoint: endpoint.url, credentials: Self.credentials, httpClient: .shared)
        let logger = Logger(label: "test")
        await #expect {
            try await client.token(subjectToken: "revoked", tokenID: "j", audience: "http://u/mcp", logger: logger)
        } throws: { error in
            guard case TokenExchangeError.refused(400, "invalid_request", _) = error else { return false }
            return UpstreamFailure.identity(error as! TokenExchangeError).status == .badGateway
        }
        await #expect {
            try await client.token(subjectToken: "other", tokenID: "j2", audience: "http://u/mcp", logger: logger)
        } throws: { error in
            guard case TokenExchangeError.unavailable = error else { return false }
            return UpstreamFailure.identity(error as! TokenExchangeError).status == .serviceUnavailable
        }
        #expect(client.cachedCount == 0)
        await endpoint.stop()
    }
}
