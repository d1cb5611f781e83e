import Foundation
import Logging
import Shared

/// Every setting of the resource server, read once from the environment at start-up and validated
/// there, so a bad value stops the process with one message naming the variable.
struct ResourceServerConfiguration: Sendable {
    var host: String
    var port: Int
    /// The canonical MCP endpoint URL: the PRM `resource`, and the value every token's `aud` must contain.
    var resource: ResourceIdentifier
    /// The authorization server's issuer, byte for byte as it appears in its metadata and in `iss`.
    var issuer: String
    /// Browser origins allowed to call `/mcp` (exact `scheme://host[:port]` strings).
    var allowedOrigins: Set<String>
    /// `GATEHOUSE_ACCESS_TOKEN_TTL`, the same setting the AuthServer issues tokens with: a token whose
    /// `exp − iat` exceeds it (plus the leeway) is refused, and the revocation feed keeps waiting for
    /// a late-committed revocation this long.
    var accessTokenLifetime: Int
    var resourceName: String
    /// When nil the JWKS URL is discovered from the issuer's RFC 8414 metadata.
    var jwksURI: String?
    var logLevel: Logger.Level
    /// `GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS` (default 60): see `HTTPServerSettings`.
    var httpIdleTimeoutSeconds: Int
    var logFormat: Observability.LogFormat
    var database: DatabaseConfiguration
    /// Benchmarks only: every `/mcp` request runs as a fixed identity without a token.
    var insecureDisableAuth: Bool
    /// The protected resources served: the `GATEHOUSE_CONFIG` file's, or the built-in notes at `resource`.
    var resources: ProtectedResourceCatalog
    /// `GATEHOUSE_RS_CLIENT_ID` + `GATEHOUSE_RS_CLIENT_SECRET_FILE`: the ResourceServer's own client at the
    /// AuthServer, for RFC 8693 token exchange (`identity.token`); nil when neither is set.
    var exchangeCredentials: TokenExchangeClient.Credentials?
    /// `GATEHOUSE_API_KEYS` (default true): whether `gh_pat_…` API keys are accepted as bearer tokens.
    var apiKeysEnabled: Bool
    /// The config file's `connections:` (issue 12) with their client secrets, and the key-encryption
    /// key their tokens are sealed under: required exactly when there are connections.
    var connections: ConnectionSettings = .empty
    var keyEncryptionKey: KeyEncryptionKey?

    static let defaultResource = "http://localhost:8000/mcp"
    static let defaultIssuer = "http://localhost:9000"
    static let defaultAllowedOrigins = ["http://localhost:6274"]
    static let defaultAccessTokenLifetime = 3600

    /// The environment, layered over the `GATEHOUSE_CONFIG` file when one is named.
    init(environment: Environment) throws {
        self = try GatehouseConfigFile.reading(environment) { environment, file in
            try ResourceServerConfiguration(settings: environment, file: file)
        }
    }

    private init(settings environment: Environment, file: GatehouseConfigFile?) throws {
        host = environment.string("GATEHOUSE_RS_HOST", default: "127.0.0.1")
        port = try environment.int("GATEHOUSE_RS_PORT", default: 8000, range: 0...65535)
        resource = try Self.resource(environment.string("GATEHOUSE_MCP_RESOURCE", default: Self.defaultResource))
        let issuerText = environment.string("GATEHOUSE_ISSUER", default: Self.defaultIssuer)
        issuer = try Self.issuer(issuerText)
        allowedOrigins = Set(try Self.allowedOrigins(environment).map(Self.origin))
        accessTokenLifetime = try environment.int("GATEHOUSE_ACCESS_TOKEN_TTL", default: Self.defaultAccessTokenLifetime,
                                                  range: 60...86_400)
        resourceName = environment.string("GATEHOUSE_RESOURCE_NAME", default: "Gatehouse notes")
        jwksURI = try environment.string("GATEHOUSE_JWKS_URI").map {
            try HTTPURL.canonical($0, variable: "GATEHOUSE_JWKS_URI").string ?? $0
        }
        logLevel = try environment.logLevel()
        httpIdleTimeoutSeconds = try HTTPServerSettings.idleTimeoutSeconds(environment)
        logFormat = try environment.logFormat()
        database = try DatabaseConfiguration(environment: environment)
        insecureDisableAuth = try environment.bool("GATEHOUSE_INSECURE_DISABLE_AUTH", default: false)
        resources = ProtectedResourceCatalog(file: file, mcpResource: resource, defaultName: resourceName)
        exchangeCredentials = try TokenExchangeClient.Credentials.fromEnvironment(environment)
        apiKeysEnabled = try environment.bool("GATEHOUSE_API_KEYS", default: true)
        connections = try ConnectionSettings(file: file, environment: environment)
        keyEncryptionKey = try Self.connectionKeyEncryptionKey(environment, connections: connections, resources: resources)
    }

    /// MCP (Canonical Server URI): "Implementations SHOULD consistently use the canonical URI form".
    /// We refuse a non-canonical setting rather than silently rewriting it, so the operator sees the
    /// exact string the AS must put in `aud`.
    static func resource(_ raw: String) throws -> ResourceIdentifier {
        let variable = "GATEHOUSE_MCP_RESOURCE"
        let parts = try HTTPURL.canonical(raw, variable: variable)
        guard let resource = ResourceIdentifier(raw), resource.value == raw, parts.string == raw else {
            throw ConfigurationError(variable, "\"\(raw)\" is not canonical (lowercase scheme and host, no default port, no trailing slash)")
        }
        return resource
    }

    /// The issuer must already be canonical (see `HTTPURL.issuer`): it goes into our metadata byte for byte.
    static func issuer(_ raw: String) throws -> String {
        _ = try HTTPURL.issuer(raw)
        return raw
    }

    /// Unset: the development default (the MCP Inspector). Set, even to an empty value as every
    /// deploy recipe does: exactly the listed origins, so `GATEHOUSE_ALLOWED_ORIGINS=` means none.
    static func allowedOrigins(_ environment: Environment) -> [String] {
        let variable = "GATEHOUSE_ALLOWED_ORIGINS"
        guard environment.values[variable] != nil else { return defaultAllowedOrigins }
        return environment.list(variable, default: [])
    }

    /// RFC 6454 origins are `scheme://host[:port]`; browsers send them without a path or trailing slash.
    static func origin(_ raw: String) throws -> String {
        let variable = "GATEHOUSE_ALLOWED_ORIGINS"
        guard let parts = URLComponents(string: raw), let scheme = parts.scheme, scheme == "http" || scheme == "https",
              parts.host?.isEmpty == false, parts.path.isEmpty, parts.query == nil, parts.fragment == nil,
              parts.user == nil
        else { throw ConfigurationError(variable, "\"\(raw)\" is not an origin like https://app.example.com") }
        return raw.lowercased()
    }

    /// The origin of the MCP resource (`scheme://host[:port]`), where the PRM documents live.
    var resourceOrigin: String {
        let parts = URLComponents(string: resource.value)!
        var origin = URLComponents()
        origin.scheme = parts.scheme
        origin.host = parts.host
        origin.port = parts.port
        return origin.string!
    }

    /// The host of the MCP resource, lowercased, IPv6 in brackets: the one non-loopback `Host` a
    /// loopback-bound server accepts (a reverse proxy on the same machine forwards it).
    var resourceHost: String {
        let host = (URLComponents(string: resource.value)?.host ?? "").lowercased()
        return host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
    }

    /// True when the server listens on a loopback address only: then `Host` is checked (DNS rebinding).
    var isBoundToLoopback: Bool { HTTPURL.isLoopbackHost(host) }

    /// The path the MCP endpoint is mounted at (`/mcp` by default).
    var mcpPath: String {
        let path = URLComponents(string: resource.value)!.path
        return path.isEmpty ? "/" : path
    }

    /// RFC 9728 §3.1: the well-known URI is formed by "inserting a well-known URI string into the
    /// protected resource's resource identifier between the host component and the path component".
    var resourceMetadataURL: String {
        resourceOrigin + ProtectedResourceMetadataEndpoint.wellKnownPrefix + (mcpPath == "/" ? "" : mcpPath)
    }
}
