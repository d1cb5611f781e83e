import Foundation
import Shared
import Testing
@testable import AuthServer

/// The authorization server's settings: secure defaults, and one readable error per bad value.
@Suite("AuthServerConfiguration")
struct AuthServerConfigurationTests {
    static let base = [
        "DATABASE_URL": "postgres://gatehouse@127.0.0.1:5432/gatehouse",
        "GATEHOUSE_KEK": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    ]

    private func configuration(_ overrides: [String: String]) throws -> AuthServerConfiguration {
        try AuthServerConfiguration(environment: Environment(Self.base.merging(overrides) { $1 }))
    }

    @Test("defaults are the documented local ones")
    func defaults() throws {
        let config = try configuration([:])
        #expect(config.issuer == "http://localhost:9000" && config.resource.value == "http://localhost:8000/mcp")
        #expect(config.host == "127.0.0.1" && config.port == 9000)
        #expect(config.accessTokenLifetime == 3600 && config.authorizationCodeLifetime == 60)
        #expect(config.signingKeyBits == 2048 && !config.keyEncryptionKeyWasGenerated)
        #expect(config.insecureSettings.count == 1)  // plain http on loopback is named, not refused
    }

    @Test("GATEHOUSE_INTROSPECTION_CLIENTS: none by default, a comma-separated list otherwise")
    func introspectionClients() throws {
        #expect(try configuration([:]).introspectionClients.isEmpty)
        #expect(try configuration(["GATEHOUSE_INTROSPECTION_CLIENTS": ""]).introspectionClients.isEmpty)
        #expect(try configuration(["GATEHOUSE_INTROSPECTION_CLIENTS": " rs-one, rs-two ,"]).introspectionClients == ["rs-one", "rs-two"])
    }

    @Test("each bad value names its variable", arguments: [
        ("GATEHOUSE_ISSUER", "http://auth.example.com"),        // plain http off loopback
        ("GATEHOUSE_ISSUER", "https://auth.example.com/"),      // trailing slash
        ("GATEHOUSE_ISSUER", "https://Auth.Example.com"),       // not canonical
        ("GATEHOUSE_MCP_RESOURCE", "not a url"),
        ("GATEHOUSE_SIGNING_KEY_BITS", "1024"),
        ("GATEHOUSE_SIGNING_KEY_BITS", "3000"),
        ("GATEHOUSE_ACCESS_TOKEN_TTL", "10"),
        ("GATEHOUSE_KEK", "c2hvcnQ="),
        ("GATEHOUSE_LOG_LEVEL", "loud"),
        ("GATEHOUSE_LOG_FORMAT", "xml"),
        ("GATEHOUSE_AUTH_PORT", "70000"),
    ])
    func badValues(_ variable: String, _ value: String) {
        let error = #expect(throws: ConfigurationError.self) { try configuration([variable: value]) }
        #expect(error?.variable == variable)
    }

    @Test("without any key-encryption key start-up refuses, naming the settings")
    func missingKEK() {
        let error = #expect(throws: ConfigurationError.self) {
            try AuthServerConfiguration(environment: Environment(["DATABASE_URL": Self.base["DATABASE_URL"]!]))
        }
        #expect(error?.description.contains("GATEHOUSE_KEK") == true)
    }

    @Test("a generated key-encryption key and an insecure issuer are opt-in and reported loudly")
    func insecureOptIns() throws {
        let config = try AuthServerConfiguration(environment: Environment([
            "DATABASE_URL": Self.base["DATABASE_URL"]!, "GATEHOUSE_INSECURE_GENERATE_KEK": "true",
            "GATEHOUSE_ISSUER": "http://auth.internal", "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER": "true",
        ]))
        #expect(config.keyEncryptionKeyWasGenerated)
        #expect(config.insecureSettings.count == 2)
    }

    @Test("the key-encryption key can come from a file")
    func kekFile() throws {
        let path = "/tmp/gatehouse-kek-\(UInt32.random(in: 0...UInt32.max))"
        try "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try AuthServerConfiguration(environment: Environment([
            "DATABASE_URL": Self.base["DATABASE_URL"]!, "GATEHOUSE_KEK_FILE": path,
        ]))
        #expect(config.keyEncryptionKey.fingerprint == (try KeyEncryptionKey(base64: Self.base["GATEHOUSE_KEK"]!)).fingerprint)
        let missing = #expect(throws: ConfigurationError.self) {
            try AuthServerConfiguration(environment: Environment([
                "DATABASE_URL": Self.base["DATABASE_URL"]!, "GATEHOUSE_KEK_FILE": path + "-missing",
            ]))
        }
        #expect(missing?.variable == "GATEHOUSE_KEK_FILE")
    }
}
