import Shared
import Testing

/// Wrong settings fail fast, with one message that names the variable.
@Suite("Configuration")
struct ConfigurationTests {
    @Test("DATABASE_URL problems name the variable", arguments: [
        "", "mysql://u@h/db", "postgres://u@h", "postgres://@h/db", "postgres://u@h/db?sslmode=sometimes", "postgres:///db",
    ])
    func databaseURL(_ value: String) {
        let error = #expect(throws: ConfigurationError.self) {
            _ = try DatabaseConfiguration(environment: Environment(["DATABASE_URL": value]))
        }
        #expect(error?.variable == "DATABASE_URL")
    }

    @Test("a valid DATABASE_URL is read whole")
    func databaseURLParsed() throws {
        let config = try DatabaseConfiguration(environment: Environment([
            "DATABASE_URL": "postgres://app:p%40ss@db.internal:6543/gatehouse?sslmode=require",
            "DATABASE_MAX_CONNECTIONS": "7",
        ]))
        #expect(config.host == "db.internal" && config.port == 6543 && config.username == "app")
        #expect(config.password == "p@ss" && config.database == "gatehouse" && config.requireTLS)
        #expect(config.maxConnections == 7)
    }

    @Test("numbers and booleans are checked")
    func numbersAndBooleans() {
        let env = Environment(["N": "12x", "R": "0", "B": "perhaps"])
        #expect(throws: ConfigurationError.self) { try env.int("N", default: 1, range: 1...100) }
        #expect(throws: ConfigurationError.self) { try env.int("R", default: 1, range: 1...100) }
        #expect(throws: ConfigurationError.self) { try env.bool("B") }
        #expect((try? env.int("MISSING", default: 5, range: 1...10)) == 5)
    }

    @Test("URLs with a trailing slash, a query or credentials are refused", arguments: [
        "http://localhost:9000/", "http://localhost:9000?x=1", "https://u:p@auth.example.com", "ftp://auth.example.com",
        "auth.example.com",
    ])
    func urls(_ value: String) {
        #expect(throws: ConfigurationError.self) { _ = try HTTPURL.canonical(value, variable: "GATEHOUSE_ISSUER") }
    }

    @Test("the RFC 8707 resource is canonicalised the same way everywhere")
    func resourceCanonicalForm() {
        #expect(ResourceIdentifier("HTTPS://MCP.Example.com:443/mcp/")?.value == "https://mcp.example.com/mcp")
        #expect(ResourceIdentifier("https://mcp.example.com/mcp#frag") == nil)
        #expect(ResourceIdentifier("/relative") == nil)
    }
}
