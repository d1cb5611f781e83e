import Foundation
import Logging
import Shared

/// Everything the authorization server needs, read once from the environment at start-up.
/// Every key is documented in docs/configuration.md.
struct AuthServerConfiguration: Sendable {
    var host: String
    var port: Int
    /// Byte-identical in metadata, tokens and the resource server's metadata: no trailing slash.
    var issuer: String
    var issuerIsHTTPS: Bool
    /// The MCP resource this server issues tokens for (RFC 8707), canonical.
    var resource: ResourceIdentifier
    /// Every resource this server issues tokens for: the `GATEHOUSE_CONFIG` file's, or `resource`.
    var resources: ProtectedResourceCatalog
    var database: DatabaseConfiguration
    var keyEncryptionKey: KeyEncryptionKey
    var keyEncryptionKeyWasGenerated: Bool
    var signingKeyBits: Int
    var accessTokenLifetime: Int
    var refreshTokenLifetime: Int
    var authorizationCodeLifetime: Int
    var refreshReplayGraceSeconds: Int
    var loginSessionLifetime: Int
    var allowInsecureHTTPIssuer: Bool
    var logFormat: Observability.LogFormat
    var logLevel: Logger.Level
    /// `GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS` (default 60): see `HTTPServerSettings`.
    var httpIdleTimeoutSeconds: Int
    /// `GATEHOUSE_TRUSTED_PROXIES`: the networks whose `X-Forwarded-For` is believed (ClientAddress.swift).
    var trustedProxies: TrustedProxies
    /// Registrations, token and authorization requests per window, across replicas; duplicates.
    var rateLimits: RateLimitSettings
    /// Audit events older than this are deleted by the sweeper.
    var auditRetentionDays: Int
    /// `GATEHOUSE_CLIENT_REAP_DAYS`: dynamically registered clients unused this many days are reaped; 0 never.
    var clientReapDays: Int
    /// Accept an https URL as client_id and fetch its client ID metadata document.
    var clientMetadataDocuments: Bool
    /// Tests only: metadata documents may be fetched from loopback addresses, over plain http.
    var insecureCIMDAllowLoopback: Bool
    /// Metadata-document and client-JWKS fetches per host per minute, across all replicas.
    var cimdFetchesPerHostPerMinute: Int
    /// Clients (the operator's resource servers) that may introspect tokens issued to other
    /// clients (RFC 7662 §4); every other client learns only about its own tokens.
    var introspectionClients: Set<String>
    /// RFC 8693 token exchange: which clients, for which upstreams, for how long.
    var tokenExchange: TokenExchangeSettings
    /// The config file's `clients:`, checked when the server is built and created or updated to match at start-up.
    var preregisteredClients: PreregisteredClientSettings
    /// The config file's `login:` and `identity_providers:` (sign-in through upstream providers, issue 12).
    var federation: FederationSettings
    /// `GATEHOUSE_API_KEYS` (default true), read by both services: when false the account page
    /// says keys are switched off and creates none (the ResourceServer refuses every key).
    var apiKeysEnabled: Bool
    /// The config file's `connections:` with their client secrets read (issue 12, "Connections").
    var connections: ConnectionSettings = .empty

    static let defaultIssuer = "http://localhost:9000"
    static let defaultResource = "http://localhost:8000/mcp"

    /// The environment, layered over the `GATEHOUSE_CONFIG` file when one is named.
    init(environment: Environment) throws {
        self = try GatehouseConfigFile.reading(environment) { env, file in try AuthServerConfiguration(settings: env, file: file) }
    }

    private init(settings env: Environment, file: GatehouseConfigFile?) throws {
        host = env.string("GATEHOUSE_AUTH_HOST", default: "127.0.0.1")
        port = try env.int("GATEHOUSE_AUTH_PORT", default: 9000, range: 0...65535)
        let issuerText = env.string("GATEHOUSE_ISSUER", default: Self.defaultIssuer)
        let issuerParts = try HTTPURL.issuer(issuerText)
        issuer = issuerText
        issuerIsHTTPS = issuerParts.scheme == "https"
        allowInsecureHTTPIssuer = try env.bool("GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER")
        if !issuerIsHTTPS && !HTTPURL.isLoopbackHost(issuerParts.host ?? "") && !allowInsecureHTTPIssuer {
            throw ConfigurationError("GATEHOUSE_ISSUER",
                "plain http is only allowed for loopback hosts; use https or set GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER=true (insecure)")
        }
        let resourceText = env.string("GATEHOUSE_MCP_RESOURCE", default: Self.defaultResource)
        guard let resource = ResourceIdentifier(resourceText) else {
            throw ConfigurationError("GATEHOUSE_MCP_RESOURCE", "\"\(resourceText)\" is not an absolute http(s) URL without fragment")
        }
        self.resource = resource
        resources = ProtectedResourceCatalog(file: file, mcpResource: resource)
        database = try DatabaseConfiguration(environment: env)
        (keyEncryptionKey, keyEncryptionKeyWasGenerated) = try Self.readKeyEncryptionKey(env)
        signingKeyBits = try env.int("GATEHOUSE_SIGNING_KEY_BITS", default: 2048, range: 2048...4096)
        guard [2048, 3072, 4096].contains(signingKeyBits) else {
            throw ConfigurationError("GATEHOUSE_SIGNING_KEY_BITS", "must be 2048, 3072 or 4096")
        }
        accessTokenLifetime = try env.int("GATEHOUSE_ACCESS_TOKEN_TTL", default: 3600, range: 60...86400)
        refreshTokenLifetime = try env.int("GATEHOUSE_REFRESH_TOKEN_TTL", default: 30 * 86400, range: 3600...365 * 86400)
        authorizationCodeLifetime = 60
        refreshReplayGraceSeconds = try env.int("GATEHOUSE_REFRESH_GRACE_SECONDS", default: 30, range: 0...300)
        loginSessionLifetime = try env.int("GATEHOUSE_SESSION_TTL", default: 8 * 3600, range: 300...30 * 86400)
        logFormat = try env.logFormat()
        logLevel = try env.logLevel()
        httpIdleTimeoutSeconds = try HTTPServerSettings.idleTimeoutSeconds(env)
        // The yes/no switch believed one proxy's last X-Forwarded-For entry from anywhere; an
        // operator who set it must now say which networks their proxies are in.
        if env.string("GATEHOUSE_TRUST_FORWARDED_FOR") != nil {
            throw ConfigurationError("GATEHOUSE_TRUST_FORWARDED_FOR",
                "was replaced by GATEHOUSE_TRUSTED_PROXIES (the proxies' networks as CIDR blocks, like 10.0.0.0/8); remove it and list your proxies there")
        }
        trustedProxies = try TrustedProxies(list: env.list("GATEHOUSE_TRUSTED_PROXIES", default: []),
                                            variable: "GATEHOUSE_TRUSTED_PROXIES")
        rateLimits = try RateLimitSettings(environment: env)
        auditRetentionDays = try env.int("GATEHOUSE_AUDIT_RETENTION_DAYS", default: 365, range: 1...3650)
        clientReapDays = try env.int("GATEHOUSE_CLIENT_REAP_DAYS", default: 30, range: 0...3650)
        clientMetadataDocuments = try env.bool("GATEHOUSE_CLIENT_METADATA_DOCUMENTS", default: true)
        insecureCIMDAllowLoopback = try env.bool("GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK")
        cimdFetchesPerHostPerMinute = try env.int("GATEHOUSE_CIMD_FETCHES_PER_HOST_PER_MINUTE", default: 30, range: 1...10_000)
        introspectionClients = Set(env.list("GATEHOUSE_INTROSPECTION_CLIENTS", default: []))
        tokenExchange = try TokenExchangeSettings(environment: env, resources: resources)
        preregisteredClients = PreregisteredClientSettings(file: file, environment: env)
        federation = try FederationSettings(file: file, environment: env)
        apiKeysEnabled = try env.bool("GATEHOUSE_API_KEYS", default: true)
        connections = try ConnectionSettings(file: file, environment: env)
    }

    /// The key-encryption key protects signing keys at rest. Production passes it by value or
    /// file; a generated one is a development convenience only (keys do not survive a restart
    /// with a new one) and is refused unless explicitly requested.
    private static func readKeyEncryptionKey(_ env: Environment) throws -> (KeyEncryptionKey, Bool) {
        if let file = env.string("GATEHOUSE_KEK_FILE") {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ConfigurationError("GATEHOUSE_KEK_FILE", "cannot read \(file)")
            }
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            do { return (try KeyEncryptionKey(base64: text), false) } catch {
                throw ConfigurationError("GATEHOUSE_KEK_FILE", "must contain a base64-encoded 32-byte key (openssl rand -base64 32)")
            }
        }
        if let value = env.string("GATEHOUSE_KEK") {
            do { return (try KeyEncryptionKey(base64: value), false) } catch {
                throw ConfigurationError("GATEHOUSE_KEK", "must be a base64-encoded 32-byte key (openssl rand -base64 32)")
            }
        }
        if try env.bool("GATEHOUSE_INSECURE_GENERATE_KEK") {
            return (KeyEncryptionKey.generate(), true)
        }
        throw ConfigurationError("GATEHOUSE_KEK_FILE",
            "no key-encryption key: set GATEHOUSE_KEK_FILE or GATEHOUSE_KEK (openssl rand -base64 32), or GATEHOUSE_INSECURE_GENERATE_KEK=true for throwaway development")
    }

    /// Warnings about insecure conveniences, logged loudly at start-up.
    var insecureSettings: [String] {
        var warnings: [String] = []
        if keyEncryptionKeyWasGenerated {
            warnings.append("GATEHOUSE_INSECURE_GENERATE_KEK: the key-encryption key is generated and lost at exit; signing keys stored with it cannot be read after a restart")
        }
        if !issuerIsHTTPS {
            warnings.append("the issuer \(issuer) is plain http: acceptable on loopback for development only")
        }
        if insecureCIMDAllowLoopback && clientMetadataDocuments {
            warnings.append("GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK: client metadata documents may be fetched from this machine, over plain http; for tests only")
        }
        return warnings
    }
}
