import Foundation
import Testing
@testable import Shared

/// What a provider's token endpoint answer means (RFC 6749 §5.1, §5.2).
@Suite struct ConnectionTokenClientTests {
    static let now = Date(timeIntervalSince1970: 1_900_000_000)

    static func outcome(_ status: UInt, _ json: String) -> ConnectionTokenOutcome {
        ConnectionTokenClient.outcome(status: status, body: Array(json.utf8), now: now)
    }

    @Test func aSuccess() {
        #expect(Self.outcome(200, #"{"access_token":"a","token_type":"Bearer","expires_in":60,"refresh_token":"r","scope":"x y"}"#)
                == .tokens(ConnectionTokens(accessToken: "a", refreshToken: "r", expiresAt: Self.now.addingTimeInterval(60), scopes: "x y")))
        #expect(Self.outcome(200, #"{"access_token":"a","token_type":"bearer"}"#)
                == .tokens(ConnectionTokens(accessToken: "a", refreshToken: nil, expiresAt: nil, scopes: "")))
    }

    @Test func refusalsAndFailures() {
        #expect(Self.outcome(400, #"{"error":"invalid_grant","error_description":"the refresh token rt-123 was revoked"}"#)
                == .refused(error: "invalid_grant"))
        #expect(Self.outcome(200, #"{"access_token":"a","token_type":"mac"}"#) == .failed(reason: "the token endpoint issued a mac token, not a Bearer token"))
        #expect(Self.outcome(503, #"{"error":"temporarily_unavailable"}"#) == .failed(reason: "the token endpoint answered HTTP 503"))
        #expect(Self.outcome(200, "<html>") == .failed(reason: "the token endpoint answered HTTP 200 without a JSON object"))
        #expect(Self.outcome(200, #"{"token_type":"Bearer"}"#) == .failed(reason: "the token endpoint's answer has no access_token"))
    }

    @Test func formEncoding() {
        #expect(ConnectionTokenClient.formEncode("a b&c=d/é") == "a+b%26c%3Dd%2F%C3%A9")
    }

    /// A private address is refused before anything is sent (the metadata documents' rules).
    @Test func aPrivateTokenEndpointIsNotContacted() async {
        let connection = ConnectionConfiguration(id: "crm", name: "CRM", authorizationEndpoint: "https://10.1.2.3/a",
                                                 tokenEndpoint: "https://10.1.2.3/token", clientID: "c", secret: .none)
        let client = ConnectionTokenClient(connection: connection, clientSecret: nil, clock: .system)
        #expect(await client.refresh("rt") == .failed(reason: "the host 10.1.2.3 is a private (10.0.0.0/8) address"))
        let loopback = ConnectionConfiguration(id: "crm", name: "CRM", authorizationEndpoint: "http://127.0.0.1:1/a",
                                               tokenEndpoint: "http://127.0.0.1:1/token", clientID: "c", secret: .none)
        #expect(await ConnectionTokenClient(connection: loopback, clientSecret: nil, clock: .system).refresh("rt")
                == .failed(reason: "the host 127.0.0.1 is a loopback address"))
    }
}
