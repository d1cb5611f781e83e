import Shared
import Testing
@testable import ResourceServer

@Suite("ResourceServerConfiguration")
struct ResourceServerConfigurationTests {
    let database = ["DATABASE_URL": "postgres://gatehouse@127.0.0.1:5432/gatehouse"]

    func load(_ values: [String: String]) throws -> ResourceServerConfiguration {
        try ResourceServerConfiguration(environment: Environment(database.merging(values) { $1 }))
    }

    @Test("defaults")
    func defaults() throws {
        let configuration = try load([:])
        #expect(configuration.host == "127.0.0.1")
        #expect(configuration.port == 8000)
        #expect(configuration.resource.value == "http://localhost:8000/mcp")
        #expect(configuration.issuer == "http://localhost:9000")
        #expect(configuration.allowedOrigins == ["http://localhost:6274"])
        #expect(configuration.accessTokenLifetime == 3600)
        #expect(configuration.isBoundToLoopback)
        #expect(configuration.resourceHost == "localhost")
        #expect(configuration.resourceName == "Gatehouse notes")
        #expect(configuration.jwksURI == nil)
        #expect(configuration.insecureDisableAuth == false)
        #expect(configuration.mcpPath == "/mcp")
        #expect(configuration.resourceMetadataURL == "http://localhost:8000/.well-known/oauth-protected-resource/mcp")
    }

    @Test("bad values fail with a message naming the variable", arguments: [
        ("GATEHOUSE_ISSUER", "http://localhost:9000/"),
        ("GATEHOUSE_ISSUER", "HTTP://LOCALHOST:9000"),
        ("GATEHOUSE_MCP_RESOURCE", "http://localhost:8000/mcp/"),
        ("GATEHOUSE_MCP_RESOURCE", "https://MCP.example.com/mcp"),
        ("GATEHOUSE_ALLOWED_ORIGINS", "http://localhost:6274/path"),
        ("GATEHOUSE_RS_PORT", "eighty"),
        ("GATEHOUSE_LOG_FORMAT", "xml"),
        ("GATEHOUSE_LOG_LEVEL", "loud"),
        ("GATEHOUSE_INSECURE_DISABLE_AUTH", "maybe"),
        ("GATEHOUSE_ACCESS_TOKEN_TTL", "59"),
        ("GATEHOUSE_ACCESS_TOKEN_TTL", "an hour"),
    ])
    func rejected(variable: String, value: String) {
        #expect {
            try load([variable: value])
        } throws: { error in
            (error as? ConfigurationError)?.variable == variable
        }
    }

    @Test("missing DATABASE_URL is named")
    func missingDatabase() {
        #expect {
            try ResourceServerConfiguration(environment: Environment([:]))
        } throws: { error in
            (error as? ConfigurationError)?.variable == "DATABASE_URL"
        }
    }

    @Test("lists and overrides")
    func overrides() throws {
        let configuration = try load([
            "GATEHOUSE_ALLOWED_ORIGINS": "https://a.example, http://localhost:6274",
            "GATEHOUSE_MCP_RESOURCE": "https://mcp.example.com/mcp",
            "GATEHOUSE_JWKS_URI": "https://auth.example.com/jwks.json",
            "GATEHOUSE_INSECURE_DISABLE_AUTH": "true",
        ])
        #expect(configuration.allowedOrigins == ["https://a.example", "http://localhost:6274"])
        #expect(configuration.resourceMetadataURL == "https://mcp.example.com/.well-known/oauth-protected-resource/mcp")
        #expect(configuration.jwksURI == "https://auth.example.com/jwks.json")
        #expect(configuration.insecureDisableAuth)
    }

    /// Issue 9 C.9: every deploy recipe sets `GATEHOUSE_ALLOWED_ORIGINS=`; that used to fall back to
    /// the development default and let the MCP Inspector's origin into production.
    @Test("GATEHOUSE_ALLOWED_ORIGINS set but empty means no browser origin; unset keeps the development default")
    func emptyAllowedOrigins() throws {
        for empty in ["", " ", " , "] {
            #expect(try load(["GATEHOUSE_ALLOWED_ORIGINS": empty]).allowedOrigins.isEmpty, "\(empty)")
        }
        #expect(try load([:]).allowedOrigins == ["http://localhost:6274"])
    }

    @Test("access-token lifetime, loopback binding and the resource host")
    func lifetimeAndBinding() throws {
        let configuration = try load([
            "GATEHOUSE_ACCESS_TOKEN_TTL": "900", "GATEHOUSE_RS_HOST": "0.0.0.0",
            "GATEHOUSE_MCP_RESOURCE": "https://MCP.example.com/mcp".lowercased(),
        ])
        #expect(configuration.accessTokenLifetime == 900)
        #expect(!configuration.isBoundToLoopback)
        #expect(configuration.resourceHost == "mcp.example.com")
        for host in ["127.0.0.1", "127.0.0.2", "localhost", "::1"] {
            #expect(try load(["GATEHOUSE_RS_HOST": host]).isBoundToLoopback, "\(host)")
        }
    }
}
