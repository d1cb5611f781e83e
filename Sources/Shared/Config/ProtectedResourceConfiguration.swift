import Foundation

/// One entry of the config file's `resources:` list: a protected resource the ResourceServer
/// serves at `path` and the AuthServer issues tokens for (docs/gateway.md, "The resource model").
public struct ProtectedResourceConfiguration: Sendable, Equatable {
    /// Where the ResourceServer serves it; the resource identifier is the public origin + this path.
    public var path: String
    /// The consent page's and the PRM's `resource_name`.
    public var name: String
    /// The scopes this resource defines, in the file's order, with the consent page's wording.
    public var scopes: [ScopeCatalog.Entry]
    /// What a `tools/call` needs, in the file's order: the first rule whose glob matches decides.
    public var tools: [ToolScopeRule]
    public var upstream: Upstream
    public var identity: Identity
    /// `connections:` the ids of the config file's connections whose user tokens this resource's
    /// tools receive (ConnectionConfiguration.swift); empty for most resources.
    public var connections: [String]

    public init(path: String, name: String, scopes: [ScopeCatalog.Entry], tools: [ToolScopeRule],
                upstream: Upstream, identity: Identity = .init(), connections: [String] = []) {
        self.connections = connections
        self.path = path
        self.name = name
        self.scopes = scopes
        self.tools = tools
        self.upstream = upstream
        self.identity = identity
    }

    public enum Builtin: String, Sendable, CaseIterable {
        /// The built-in notes and whoami tools (the zero-configuration default at /mcp).
        case notes
    }

    public enum Upstream: Sendable, Equatable {
        case stdio(Stdio)
        case http(HTTP)
        case builtin(Builtin)
    }

    /// `upstream.stdio`: a command Gatehouse spawns and speaks MCP to on stdin/stdout.
    public struct Stdio: Sendable, Equatable {
        public var command: [String]
        /// One process per user (the default) or one shared process.
        public var perUser: Bool
        /// Extra environment, in the file's order.
        public var environment: [(name: String, value: String)]
        /// Seconds without a request before a process is stopped.
        public var idleTimeout: Int
        /// Least recently used processes beyond this many are stopped.
        public var maxProcesses: Int

        public init(command: [String], perUser: Bool = true, environment: [(name: String, value: String)] = [],
                    idleTimeout: Int = Self.defaultIdleTimeout, maxProcesses: Int = Self.defaultMaxProcesses) {
            self.command = command
            self.perUser = perUser
            self.environment = environment
            self.idleTimeout = idleTimeout
            self.maxProcesses = maxProcesses
        }

        public static let defaultIdleTimeout = 300
        public static let defaultMaxProcesses = 200

        public static func == (lhs: Stdio, rhs: Stdio) -> Bool {
            lhs.command == rhs.command && lhs.perUser == rhs.perUser && lhs.idleTimeout == rhs.idleTimeout
                && lhs.maxProcesses == rhs.maxProcesses
                && lhs.environment.map(\.name) == rhs.environment.map(\.name)
                && lhs.environment.map(\.value) == rhs.environment.map(\.value)
        }
    }

    /// `upstream.http`: a Streamable HTTP MCP endpoint.
    public struct HTTP: Sendable, Equatable {
        public var url: String
        /// Seconds an upstream answer may take.
        public var timeout: Int

        public init(url: String, timeout: Int = Self.defaultTimeout) {
            self.url = url
            self.timeout = timeout
        }

        public static let defaultTimeout = 60
    }

    /// What the upstream learns about the caller (never the caller's token).
    public struct Identity: Sendable, Equatable {
        /// An RFC 8693 exchanged token for the upstream.
        public var token: Bool
        /// The X-Gatehouse-Subject, -Username, -Client-Id and -Scopes headers.
        public var headers: Bool

        public init(token: Bool = false, headers: Bool = false) {
            self.token = token
            self.headers = headers
        }
    }

    public var scopeNames: [String] { scopes.map(\.name) }

    public var isBuiltin: Bool {
        if case .builtin = upstream { return true }
        return false
    }

    /// The scopes a `tools/call` of `tool` needs, by the first matching rule; nil when no rule
    /// matches (the call is refused: a tool the file does not mention is not reachable).
    public func requiredScopes(forTool tool: String) -> [String]? {
        tools.first { $0.matches(tool) }?.scopes
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.path == rhs.path && lhs.name == rhs.name && lhs.scopes.map(\.name) == rhs.scopes.map(\.name)
            && lhs.scopes.map(\.consentText) == rhs.scopes.map(\.consentText) && lhs.tools == rhs.tools
            && lhs.upstream == rhs.upstream && lhs.identity == rhs.identity && lhs.connections == rhs.connections
    }
}

/// One `tools:` entry: a tool name or `*` glob, and the scopes a call of a matching tool needs.
public struct ToolScopeRule: Sendable, Equatable {
    public var pattern: String
    public var scopes: [String]

    public init(pattern: String, scopes: [String]) {
        self.pattern = pattern
        self.scopes = scopes
    }

    /// `*` matches any run of characters (also none); everything else matches itself, case-sensitively.
    public func matches(_ name: String) -> Bool {
        Self.glob(Array(pattern.utf8)[...], Array(name.utf8)[...])
    }

    private static func glob(_ pattern: ArraySlice<UInt8>, _ name: ArraySlice<UInt8>) -> Bool {
        // Iterative, with one backtracking point: linear in practice, never exponential.
        var p = pattern.startIndex, n = name.startIndex
        var star: Int? = nil, resume = name.startIndex
        while n < name.endIndex {
            if p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") {
                star = p
                p += 1
                resume = n
            } else if p < pattern.endIndex, pattern[p] == name[n] {
                p += 1
                n += 1
            } else if let star {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.endIndex, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.endIndex
    }
}
