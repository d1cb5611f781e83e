import Foundation

/// Reads and validates the config file's `resources:` list. Every check names the key it is
/// about; the whole list is checked before either service starts, so a mistake never shows up
/// later as a refused token or a tool that cannot be called.
enum ResourceListParser {
    static let maximumResources = 100
    /// Scopes with a meaning of their own at the AuthServer, never a resource's (OpenID Connect
    /// Core §5.4 and §11), and the built-in notes resource's (it defines them).
    static let reservedScopes: Set<String> = Set(ScopeCatalog.identityNames + ["offline_access"] + ScopeCatalog.names)
    /// Paths of the ResourceServer's own routes, which a resource may not shadow.
    static let reservedPaths = ["/.well-known", "/healthz", "/readyz", "/metrics"]

    static func parse(_ node: ConfigFileNode) throws -> [ProtectedResourceConfiguration] {
        let elements = try node.elements()
        guard !elements.isEmpty else { throw node.error("must list at least one resource (or leave resources out for the built-in notes at /mcp)") }
        guard elements.count <= maximumResources else { throw node.error("more than \(maximumResources) resources") }
        var resources: [ProtectedResourceConfiguration] = []
        var pathsSeen: [String: String] = [:]
        var scopesSeen: [String: String] = [:]
        for element in elements {
            let resource = try parseResource(element)
            if let other = pathsSeen[resource.path] {
                throw ConfigFileNode(node: element.node, path: element.path + ".path", source: element.source)
                    .error("\(resource.path) is already the path of \(other)")
            }
            pathsSeen[resource.path] = element.path
            if resource.isBuiltin, resources.contains(where: \.isBuiltin) {
                throw ConfigFileNode(node: element.node, path: element.path + ".builtin", source: element.source)
                    .error("the built-in notes may be served at one path only")
            }
            // Scope names are global at the AuthServer: a remembered consent is per client and
            // scope, so one name in two resources would let consent to one cover the other.
            if !resource.isBuiltin {
                for scope in resource.scopeNames {
                    if let other = scopesSeen[scope] {
                        throw ConfigFileNode(node: element.node, path: element.path + ".scopes.\(scope)", source: element.source)
                            .error("is already defined by \(other); scope names must be unique across resources")
                    }
                    scopesSeen[scope] = element.path
                }
            }
            resources.append(resource)
        }
        return resources
    }

    private static func parseResource(_ node: ConfigFileNode) throws -> ProtectedResourceConfiguration {
        let fields = try node.fields(allowed: ["path", "name", "scopes", "tools", "upstream", "identity", "builtin", "connections"])
        guard let pathNode = fields["path"] else { throw node.error("path is missing") }
        let path = try parsePath(pathNode)
        if let builtinNode = fields["builtin"] {
            let raw = try builtinNode.string()
            guard let builtin = ProtectedResourceConfiguration.Builtin(rawValue: raw) else {
                throw builtinNode.error("\"\(raw)\" is not a built-in; expected one of \(ProtectedResourceConfiguration.Builtin.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            for key in ["upstream", "scopes", "tools", "identity"] {
                if let extra = fields[key] {
                    throw extra.error("a built-in resource has its own \(key == "upstream" ? "tools" : key); use either builtin or upstream")
                }
            }
            // Issue 12: "the built-in tools reach it through the verified identity"
            // (`CallerConnections`, and the `connection_status` tool listed then).
            return ProtectedResourceConfiguration(
                path: path, name: try fields["name"]?.nonEmptyString() ?? "Gatehouse notes",
                scopes: ScopeCatalog.entries, tools: [], upstream: .builtin(builtin), identity: .init(),
                connections: try fields["connections"].map(parseConnectionNames) ?? [])
        }
        guard let upstreamNode = fields["upstream"] else {
            throw node.error("upstream is missing; a resource needs exactly one of upstream.stdio, upstream.http or builtin")
        }
        guard let nameNode = fields["name"] else { throw node.error("name is missing (the consent page shows it)") }
        let name = try nameNode.nonEmptyString()
        guard name.count <= 100 else { throw nameNode.error("is longer than 100 characters") }
        guard let scopesNode = fields["scopes"] else { throw node.error("scopes is missing") }
        let scopes = try parseScopes(scopesNode)
        guard let toolsNode = fields["tools"] else {
            throw node.error("tools is missing; a tool no rule matches cannot be called (end with \"*\" to cover the rest)")
        }
        let tools = try parseTools(toolsNode, defined: Set(scopes.map(\.name)))
        return ProtectedResourceConfiguration(
            path: path, name: name, scopes: scopes, tools: tools, upstream: try parseUpstream(upstreamNode),
            identity: try fields["identity"].map(parseIdentity) ?? .init(),
            connections: try fields["connections"].map(parseConnectionNames) ?? [])
    }

    /// `connections: [id, …]`: each named once; that each is a connection of the file is checked
    /// once the whole file is read (GatehouseConfigFile).
    private static func parseConnectionNames(_ node: ConfigFileNode) throws -> [String] {
        let names = try node.strings()
        for (index, name) in names.enumerated() where names[..<index].contains(name) {
            throw ConfigFileNode(node: node.node, path: "\(node.path)[\(index)]", source: node.source).error("\(name) is listed twice")
        }
        return names
    }

    /// `/segment/segment`, each segment RFC 3986 unreserved characters only, so the path is its
    /// own canonical form in the resource identifier and routes exactly as written.
    static func parsePath(_ node: ConfigFileNode) throws -> String {
        let path = try node.string()
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        let unreserved = { (byte: UInt8) -> Bool in
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                return true
            default:
                return false
            }
        }
        guard path.hasPrefix("/"), !segments.isEmpty, path.utf8.count <= 200,
              segments.allSatisfy({ !$0.isEmpty && $0 != "." && $0 != ".." && $0.utf8.allSatisfy(unreserved) })
        else {
            throw node.error("\"\(path)\" is not a path like /mcp/files (segments of letters, digits, - . _ ~; no trailing slash)")
        }
        for reserved in reservedPaths where path == reserved || path.hasPrefix(reserved + "/") {
            throw node.error("\(path) is a route of the ResourceServer itself (\(reserved))")
        }
        return path
    }

    /// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
    static func isScopeToken(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.allSatisfy { $0 == 0x21 || (0x23...0x5B).contains($0) || (0x5D...0x7E).contains($0) }
    }

    private static func parseScopes(_ node: ConfigFileNode) throws -> [ScopeCatalog.Entry] {
        let entries = try node.entries("a mapping of scope name to consent text")
        guard !entries.isEmpty else { throw node.error("must define at least one scope") }
        return try entries.map { name, text in
            guard isScopeToken(name), name.utf8.count <= 100 else {
                throw text.error("is not a scope name (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)")
            }
            guard !reservedScopes.contains(name) else {
                throw text.error("is reserved (OpenID Connect, offline_access or the built-in notes); choose another name")
            }
            let consent = try text.nonEmptyString()
            guard consent.count <= 200 else { throw text.error("the consent text is longer than 200 characters") }
            return ScopeCatalog.Entry(name: name, consentText: consent)
        }
    }

    private static func parseTools(_ node: ConfigFileNode, defined: Set<String>) throws -> [ToolScopeRule] {
        let entries = try node.entries("a mapping of tool name or glob to a list of scopes")
        guard !entries.isEmpty else { throw node.error("must have at least one rule (\"*\": [a scope] covers every tool)") }
        return try entries.map { pattern, value in
            guard !pattern.isEmpty, pattern.utf8.count <= 128,
                  pattern.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F })
            else { throw value.error("is not a tool name or glob (1 to 128 printable ASCII characters, * for any run)") }
            let scopes = try value.strings()
            for (index, scope) in scopes.enumerated() where !defined.contains(scope) {
                throw ConfigFileNode(node: value.node, path: "\(value.path)[\(index)]", source: value.source)
                    .error("\(scope) is not one of this resource's scopes (\(defined.sorted().joined(separator: ", ")))")
            }
            return ToolScopeRule(pattern: pattern, scopes: scopes)
        }
    }

    private static func parseUpstream(_ node: ConfigFileNode) throws -> ProtectedResourceConfiguration.Upstream {
        let fields = try node.fields(allowed: ["stdio", "http"])
        switch (fields["stdio"], fields["http"]) {
        case (let stdio?, nil): return .stdio(try parseStdio(stdio))
        case (nil, let http?): return .http(try parseHTTP(http))
        case (.some, .some): throw node.error("has both stdio and http; give exactly one")
        case (nil, nil): throw node.error("needs exactly one of stdio or http")
        }
    }

    private static func parseStdio(_ node: ConfigFileNode) throws -> ProtectedResourceConfiguration.Stdio {
        let fields = try node.fields(allowed: ["command", "per_user", "env", "idle_timeout", "max_processes"])
        guard let commandNode = fields["command"] else { throw node.error("command is missing (a list: [program, argument, …])") }
        let command = try commandNode.strings()
        guard let program = command.first, !program.isEmpty else { throw commandNode.error("must name a program") }
        if let empty = command.firstIndex(where: \.isEmpty) {
            throw ConfigFileNode(node: commandNode.node, path: "\(commandNode.path)[\(empty)]", source: commandNode.source)
                .error("must not be empty")
        }
        var environment: [(name: String, value: String)] = []
        if let envNode = fields["env"] {
            for (name, value) in try envNode.entries("a mapping of variable name to value") {
                guard let first = name.utf8.first, first == UInt8(ascii: "_") || (first | 0x20) >= UInt8(ascii: "a") && (first | 0x20) <= UInt8(ascii: "z"),
                      name.utf8.allSatisfy({ $0 == UInt8(ascii: "_") || ($0 | 0x20) >= UInt8(ascii: "a") && ($0 | 0x20) <= UInt8(ascii: "z")
                          || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
                else { throw value.error("is not an environment variable name (letters, digits, _)") }
                // The process's identity comes from Gatehouse alone (GATEHOUSE_SUBJECT, GATEHOUSE_USERNAME).
                guard !name.uppercased().hasPrefix("GATEHOUSE_") else {
                    throw value.error("GATEHOUSE_* variables are set by Gatehouse (the caller's identity) and cannot be configured")
                }
                guard value.node.scalar != nil else { throw value.error("expected a string") }
                environment.append((name, try value.settingValue()))
            }
        }
        return ProtectedResourceConfiguration.Stdio(
            command: command,
            perUser: try fields["per_user"]?.bool() ?? true,
            environment: environment,
            idleTimeout: try fields["idle_timeout"]?.int(in: 1...86_400) ?? ProtectedResourceConfiguration.Stdio.defaultIdleTimeout,
            maxProcesses: try fields["max_processes"]?.int(in: 1...10_000) ?? ProtectedResourceConfiguration.Stdio.defaultMaxProcesses)
    }

    private static func parseHTTP(_ node: ConfigFileNode) throws -> ProtectedResourceConfiguration.HTTP {
        let fields = try node.fields(allowed: ["url", "timeout"])
        guard let urlNode = fields["url"] else { throw node.error("url is missing") }
        let url = try parseUpstreamURL(urlNode)
        return ProtectedResourceConfiguration.HTTP(
            url: url, timeout: try fields["timeout"]?.int(in: 1...3600) ?? ProtectedResourceConfiguration.HTTP.defaultTimeout)
    }

    /// An absolute http(s) URL without credentials or fragment. Plain http only where the traffic
    /// stays on this machine or a private network (docs/gateway.md, "Security"): loopback, a
    /// private IP literal (RFC 1918, RFC 4193), or a name that public DNS does not resolve (a
    /// single label such as a Compose service `crm`, or `.internal`, `.local`, `.svc`,
    /// `.cluster.local`). Anywhere else the caller's identity (headers, exchanged token) and the
    /// tool data would cross networks in clear text, so https is required.
    static func parseUpstreamURL(_ node: ConfigFileNode) throws -> String {
        let raw = try node.nonEmptyString()
        guard let parts = URLComponents(string: raw), let scheme = parts.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty
        else { throw node.error("\"\(raw)\" is not an absolute http(s) URL") }
        guard parts.user == nil, parts.password == nil else { throw node.error("must not contain credentials") }
        guard parts.fragment == nil else { throw node.error("must not have a fragment") }
        if scheme == "http" && !isPrivateHost(host) {
            throw node.error("plain http is allowed only to loopback or private-network hosts; use https for \(host)")
        }
        return raw
    }

    static func isPrivateHost(_ rawHost: String) -> Bool {
        let host = rawHost.lowercased()
        if HTTPURL.isLoopbackHost(host) { return true }
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if let v4 = IPLiteral.ipv4(bare) {
            return v4[0] == 10 || (v4[0] == 172 && (16...31).contains(v4[1])) || (v4[0] == 192 && v4[1] == 168)
        }
        if let v6 = IPLiteral.ipv6(bare) { return v6[0] & 0xFE == 0xFC }
        if bare.contains(":") { return false }
        return !bare.contains(".") || [".internal", ".local", ".svc", ".cluster.local"].contains { bare.hasSuffix($0) }
    }

    private static func parseIdentity(_ node: ConfigFileNode) throws -> ProtectedResourceConfiguration.Identity {
        let fields = try node.fields(allowed: ["token", "headers"])
        return .init(token: try fields["token"]?.bool() ?? false, headers: try fields["headers"]?.bool() ?? false)
    }
}
