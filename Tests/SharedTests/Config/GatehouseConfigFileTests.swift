import Foundation
import Shared
import Testing

/// The `GATEHOUSE_CONFIG` file: the example round-trips, and every class of mistake stops
/// start-up with one message naming the key.
@Suite("Config file (GATEHOUSE_CONFIG)")
struct GatehouseConfigFileTests {
    static let example = """
        resources:
          - path: /mcp/files                 # served by the ResourceServer
            name: Files
            scopes:
              files:read: Read your files
              files:write: Change your files
            tools:
              "delete_*": [files:write]
              "write_*": [files:write]
              "*": [files:read]
            upstream:
              stdio:
                command: [python3, /srv/files_server.py]
                per_user: true
                env: {LOG_LEVEL: info}
                idle_timeout: 300
                max_processes: 200
          - path: /mcp/crm
            name: CRM
            scopes: {crm:read: Read the CRM}
            tools: {"*": [crm:read]}
            upstream:
              http:
                url: http://127.0.0.1:3001/mcp
                timeout: 60
            identity:
              token: true
              headers: true
          - path: /mcp/notes
            builtin: notes
        """

    static func parse(_ text: String) throws -> GatehouseConfigFile {
        try GatehouseConfigFile.parse(text, path: "/etc/gatehouse.yaml")
    }

    @Test("the issue's example parses into exactly its resources, in order")
    func example() throws {
        let file = try Self.parse(Self.example)
        #expect(file.resources.map(\.path) == ["/mcp/files", "/mcp/crm", "/mcp/notes"])
        let files = file.resources[0]
        #expect(files.name == "Files")
        #expect(files.scopes.map(\.name) == ["files:read", "files:write"])
        #expect(files.scopes.map(\.consentText) == ["Read your files", "Change your files"])
        #expect(files.tools == [ToolScopeRule(pattern: "delete_*", scopes: ["files:write"]),
                                ToolScopeRule(pattern: "write_*", scopes: ["files:write"]),
                                ToolScopeRule(pattern: "*", scopes: ["files:read"])])
        #expect(files.upstream == .stdio(.init(command: ["python3", "/srv/files_server.py"], perUser: true,
                                                environment: [("LOG_LEVEL", "info")], idleTimeout: 300, maxProcesses: 200)))
        #expect(files.identity == .init())
        let crm = file.resources[1]
        #expect(crm.upstream == .http(.init(url: "http://127.0.0.1:3001/mcp", timeout: 60)))
        #expect(crm.identity == .init(token: true, headers: true))
        let notes = file.resources[2]
        #expect(notes.upstream == .builtin(.notes))
        #expect(notes.scopeNames == ScopeCatalog.names)
        #expect(notes.name == "Gatehouse notes")
    }

    @Test("deploy/gatehouse.example.yaml is a valid file")
    func deployExample() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("deploy/gatehouse.example.yaml").path
        let file = try #require(try GatehouseConfigFile.load(from: Environment(["GATEHOUSE_CONFIG": path])))
        #expect(file.resources.map(\.path) == ["/mcp/files", "/mcp/crm", "/mcp/notes"])
        #expect(file.settings["GATEHOUSE_ISSUER"] == "https://auth.example.com")
    }

    @Test("first match wins, in the file's order; tools no rule matches are not callable")
    func toolOrder() throws {
        let file = try Self.parse(Self.example)
        let files = file.resources[0]
        #expect(files.requiredScopes(forTool: "delete_file") == ["files:write"])
        #expect(files.requiredScopes(forTool: "write_file") == ["files:write"])
        #expect(files.requiredScopes(forTool: "read_file") == ["files:read"])
        let narrow = try Self.parse("""
            resources:
              - path: /mcp/x
                name: X
                scopes: {x:read: Read}
                tools: {"get_*": [x:read], exact: []}
                upstream: {http: {url: "https://x.example/mcp"}}
            """).resources[0]
        #expect(narrow.requiredScopes(forTool: "get_a") == ["x:read"])
        #expect(narrow.requiredScopes(forTool: "exact") == [])
        #expect(narrow.requiredScopes(forTool: "exactly") == nil)
        #expect(narrow.requiredScopes(forTool: "other") == nil)
    }

    @Test("defaults: per_user true, idle_timeout 300, max_processes 200, timeout 60, identity off")
    func defaults() throws {
        let file = try Self.parse("""
            resources:
              - path: /a
                name: A
                scopes: {a:use: Use A}
                tools: {"*": [a:use]}
                upstream: {stdio: {command: [server]}}
              - path: /b
                name: B
                scopes: {b:use: Use B}
                tools: {"*": [b:use]}
                upstream: {http: {url: "https://b.example/mcp"}}
            """)
        #expect(file.resources[0].upstream == .stdio(.init(command: ["server"], perUser: true, environment: [],
                                                            idleTimeout: 300, maxProcesses: 200)))
        #expect(file.resources[1].upstream == .http(.init(url: "https://b.example/mcp", timeout: 60)))
        #expect(file.resources[1].identity == .init(token: false, headers: false))
    }

    @Test("glob matching", arguments: [
        ("*", "anything", true), ("*", "", true), ("a*", "abc", true), ("a*", "ba", false),
        ("*_file", "read_file", true), ("*_file", "read_files", false), ("a*b*c", "axxbyyc", true),
        ("a*b*c", "axxbyy", false), ("exact", "exact", true), ("exact", "Exact", false), ("**", "x", true),
    ])
    func glob(pattern: String, name: String, matches: Bool) {
        #expect(ToolScopeRule(pattern: pattern, scopes: []).matches(name) == matches)
    }

    /// One resource with one thing wrong, and the key the message must name.
    static let resourcePrefix = """
        resources:
          - path: /mcp/ok
            name: OK
            scopes: {ok:read: Read}
            tools: {"*": [ok:read]}
            upstream: {http: {url: "https://ok.example/mcp"}}

        """

    struct BadCase: Sendable, CustomTestStringConvertible {
        let testDescription: String
        let yaml: String
        let key: String
        init(_ name: String, key: String, _ yaml: String) {
            testDescription = name
            self.key = key
            self.yaml = yaml
        }
    }

    static let badResources: [BadCase] = [
        BadCase("unknown key in a resource", key: "resources[1].colour", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}, colour: red}
            """),
        BadCase("unknown key in upstream.http", key: "resources[1].upstream.http.uri", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {uri: "https://b.example"}}}
            """),
        BadCase("duplicate path", key: "resources[1].path", """
              - {path: /mcp/ok, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("path with a trailing slash", key: "resources[1].path", """
              - {path: /b/, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("path without a leading slash", key: "resources[1].path", """
              - {path: b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("path with ..", key: "resources[1].path", """
              - {path: /a/../b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("path shadowing a route", key: "resources[1].path", """
              - {path: /.well-known/x, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("path missing", key: "resources[1]", """
              - {name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("scope with a space", key: "resources[1].scopes.b r", """
              - {path: /b, name: B, scopes: {"b r": R}, tools: {"*": ["b r"]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("scope clashing with OpenID", key: "resources[1].scopes.openid", """
              - {path: /b, name: B, scopes: {openid: R}, tools: {"*": [openid]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("scope clashing with the built-in notes", key: "resources[1].scopes.notes:read", """
              - {path: /b, name: B, scopes: {notes:read: R}, tools: {"*": [notes:read]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("scope defined by another resource", key: "resources[1].scopes.ok:read", """
              - {path: /b, name: B, scopes: {ok:read: R}, tools: {"*": [ok:read]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("scope with an empty consent text", key: "resources[1].scopes.b:r", """
              - {path: /b, name: B, scopes: {b:r: ""}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("tool rule needing an undefined scope", key: "resources[1].tools.*[0]", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:w]}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("tools missing", key: "resources[1]", """
              - {path: /b, name: B, scopes: {b:r: R}, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("both stdio and http", key: "resources[1].upstream", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}, stdio: {command: [x]}}}
            """),
        BadCase("neither stdio nor http", key: "resources[1].upstream", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {}}
            """),
        BadCase("builtin with an upstream", key: "resources[1].upstream", """
              - {path: /b, builtin: notes, upstream: {http: {url: "https://b.example"}}}
            """),
        BadCase("unknown builtin", key: "resources[1].builtin", """
              - {path: /b, builtin: calendar}
            """),
        BadCase("url not absolute", key: "resources[1].upstream.http.url", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "/mcp"}}}
            """),
        BadCase("url ftp", key: "resources[1].upstream.http.url", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "ftp://b.example/mcp"}}}
            """),
        BadCase("plain http to a public host", key: "resources[1].upstream.http.url", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "http://b.example/mcp"}}}
            """),
        BadCase("url with credentials", key: "resources[1].upstream.http.url", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://u:p@b.example/mcp"}}}
            """),
        BadCase("timeout out of range", key: "resources[1].upstream.http.timeout", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example", timeout: 0}}}
            """),
        BadCase("timeout as text", key: "resources[1].upstream.http.timeout", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example", timeout: "60"}}}
            """),
        BadCase("max_processes out of range", key: "resources[1].upstream.stdio.max_processes", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {stdio: {command: [x], max_processes: 0}}}
            """),
        BadCase("idle_timeout negative", key: "resources[1].upstream.stdio.idle_timeout", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {stdio: {command: [x], idle_timeout: -1}}}
            """),
        BadCase("per_user not a boolean", key: "resources[1].upstream.stdio.per_user", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {stdio: {command: [x], per_user: "yes"}}}
            """),
        BadCase("empty command", key: "resources[1].upstream.stdio.command", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {stdio: {command: []}}}
            """),
        BadCase("command as a string", key: "resources[1].upstream.stdio.command", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {stdio: {command: "python3 server.py"}}}
            """),
        BadCase("env setting the caller's identity", key: "resources[1].upstream.stdio.env.GATEHOUSE_SUBJECT", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {stdio: {command: [x], env: {GATEHOUSE_SUBJECT: root}}}}
            """),
        BadCase("identity flag not a boolean", key: "resources[1].identity.token", """
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "https://b.example"}}, identity: {token: 1}}
            """),
        BadCase("a second built-in notes", key: "resources[2].builtin", """
              - {path: /n1, builtin: notes}
              - {path: /n2, builtin: notes}
            """),
    ]

    @Test("every bad resource stops start-up with one message naming the key", arguments: badResources)
    func badResource(_ bad: BadCase) throws {
        let error = try #require(throws: ConfigurationError.self) { try Self.parse(Self.resourcePrefix + bad.yaml) }
        #expect(error.variable == "GATEHOUSE_CONFIG /etc/gatehouse.yaml: \(bad.key)", "\(error.description)")
        #expect(error.description.hasPrefix("configuration error: GATEHOUSE_CONFIG /etc/gatehouse.yaml: \(bad.key): "))
    }

    @Test("bad top-level content names the key", arguments: [
        ("colour: red", "GATEHOUSE_CONFIG /etc/gatehouse.yaml: colour"),
        ("kek: abc", "GATEHOUSE_CONFIG /etc/gatehouse.yaml: kek"),
        ("insecure_disable_auth: true", "GATEHOUSE_CONFIG /etc/gatehouse.yaml: insecure_disable_auth"),
        ("resources: []", "GATEHOUSE_CONFIG /etc/gatehouse.yaml: resources"),
        ("resources: {a: b}", "GATEHOUSE_CONFIG /etc/gatehouse.yaml: resources"),
        ("issuer: {a: b}", "GATEHOUSE_CONFIG /etc/gatehouse.yaml: issuer"),
        ("- a\n- b", "GATEHOUSE_CONFIG /etc/gatehouse.yaml"),
        ("resources: [\n", "GATEHOUSE_CONFIG /etc/gatehouse.yaml"),
    ])
    func badTopLevel(yaml: String, variable: String) throws {
        let error = try #require(throws: ConfigurationError.self) { try Self.parse(yaml) }
        #expect(error.variable == variable, "\(error.description)")
    }

    @Test("a key repeated is refused by the YAML parser, naming it")
    func repeatedKey() throws {
        let error = try #require(throws: ConfigurationError.self) { try Self.parse("issuer: a\nissuer: b") }
        #expect(error.description.contains("duplicated key(s): 'issuer'"), "\(error.description)")
        let nested = try #require(throws: ConfigurationError.self) {
            try Self.parse(Self.resourcePrefix + "  - {path: /b, path: /c}\n")
        }
        #expect(nested.description.contains("'path'"), "\(nested.description)")
    }

    @Test("plain http is accepted for loopback and private-network upstreams only", arguments: [
        ("http://127.0.0.1:3001/mcp", true), ("http://localhost:3001/mcp", true), ("http://[::1]:3001/mcp", true),
        ("http://10.1.2.3/mcp", true), ("http://192.168.1.5/mcp", true), ("http://172.20.0.2/mcp", true),
        ("http://crm:3001/mcp", true), ("http://crm.tools.svc.cluster.local/mcp", true), ("http://db.internal/mcp", true),
        ("http://[fd00::5]/mcp", true),
        ("http://crm.example.com/mcp", false), ("http://8.8.8.8/mcp", false), ("http://169.254.169.254/latest", false),
        ("http://172.32.0.1/mcp", false), ("https://crm.example.com/mcp", true),
    ])
    func plainHTTP(url: String, accepted: Bool) {
        let yaml = """
            resources:
              - {path: /b, name: B, scopes: {b:r: R}, tools: {"*": [b:r]}, upstream: {http: {url: "\(url)"}}}
            """
        let parsed = (try? Self.parse(yaml)) != nil
        #expect(parsed == accepted, "\(url)")
    }

    @Test("top-level settings stand for the variables; a variable that is set wins over the file")
    func layering() throws {
        let file = try Self.parse("""
            issuer: https://auth.example.com
            rs_port: 8123
            allowed_origins: [https://a.example, https://b.example]
            database_url: postgres://gatehouse@db/gatehouse
            """)
        #expect(file.settings == [
            "GATEHOUSE_ISSUER": "https://auth.example.com", "GATEHOUSE_RS_PORT": "8123",
            "GATEHOUSE_ALLOWED_ORIGINS": "https://a.example,https://b.example",
            "DATABASE_URL": "postgres://gatehouse@db/gatehouse",
        ])
        let layered = file.layered(over: Environment(["GATEHOUSE_RS_PORT": "9999", "GATEHOUSE_ISSUER": "  ", "OTHER": "x"]))
        #expect(layered.string("GATEHOUSE_RS_PORT") == "9999")
        #expect(layered.string("GATEHOUSE_ISSUER") == "https://auth.example.com")
        #expect(layered.string("DATABASE_URL") == "postgres://gatehouse@db/gatehouse")
        #expect(layered.string("OTHER") == "x")
    }

    @Test("a bad value from the file is reported under its file key, one from a variable under the variable")
    func errorNaming() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("gatehouse.yaml").path
        try "rs_port: 99999\n".write(toFile: path, atomically: true, encoding: .utf8)
        let read = { (environment: [String: String]) throws -> Int in
            try GatehouseConfigFile.reading(Environment(environment)) { env, _ in
                try env.int("GATEHOUSE_RS_PORT", default: 8000, range: 0...65535)
            }
        }
        let fromFile = try #require(throws: ConfigurationError.self) { try read(["GATEHOUSE_CONFIG": path]) }
        #expect(fromFile.variable == "GATEHOUSE_CONFIG \(path): rs_port")
        #expect(try read(["GATEHOUSE_CONFIG": path, "GATEHOUSE_RS_PORT": "8001"]) == 8001)
        let fromVariable = try #require(throws: ConfigurationError.self) {
            try read(["GATEHOUSE_CONFIG": path, "GATEHOUSE_RS_PORT": "x"])
        }
        #expect(fromVariable.variable == "GATEHOUSE_RS_PORT")
        #expect(try read([:]) == 8000)
        let missing = try #require(throws: ConfigurationError.self) { try read(["GATEHOUSE_CONFIG": path + ".absent"]) }
        #expect(missing.variable == "GATEHOUSE_CONFIG \(path).absent")
    }

    @Test("without resources the catalogue is the built-in notes at GATEHOUSE_MCP_RESOURCE; with them, origin + path")
    func catalog() throws {
        let resource = try #require(ResourceIdentifier("https://mcp.example.com/mcp"))
        let none = ProtectedResourceCatalog(file: nil, mcpResource: resource)
        #expect(none.resources.map(\.identifier.value) == ["https://mcp.example.com/mcp"])
        #expect(none.scopeNames == ScopeCatalog.names)
        #expect(!none.isConfigured)
        let configured = ProtectedResourceCatalog(file: try Self.parse(Self.example), mcpResource: resource)
        #expect(configured.resources.map(\.identifier.value) ==
                ["https://mcp.example.com/mcp/files", "https://mcp.example.com/mcp/crm", "https://mcp.example.com/mcp/notes"])
        #expect(configured.scopeNames == ["files:read", "files:write", "crm:read", "notes:read", "notes:write"])
    }
}
