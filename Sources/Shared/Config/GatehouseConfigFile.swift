import Foundation
import Yams

/// The YAML file named by `GATEHOUSE_CONFIG`, read by both services at start-up (docs/gateway.md,
/// docs/configuration.md). It holds the protected resources (`resources:`) and, optionally, the
/// settings the environment variables also carry (`issuer:` for `GATEHOUSE_ISSUER`, …); a variable
/// that is set wins over the file.
///
/// Parsed with Yams, the YAML parser swift-configuration uses itself: swift-configuration's
/// `YAMLSnapshot` flattens a file into dotted scalar keys and refuses a list whose items are
/// mappings ("Unexpected non-scalar value in array"), so it cannot load a `resources:` list at
/// all; it also loses the order of a mapping, and the order of `tools:` decides (first match wins).
public struct GatehouseConfigFile: Sendable, Equatable {
    public static let variable = "GATEHOUSE_CONFIG"

    public var path: String
    /// Environment-variable name → value, from the file's top-level setting keys.
    public var settings: [String: String]
    /// `resources:` in the file's order.
    public var resources: [ProtectedResourceConfiguration]
    /// `clients:` (pre-registered clients, AuthServer only) in the file's order.
    public var clients: [PreregisteredClientConfiguration] = []
    /// `login:` (AuthServer only): whether the password form is offered.
    public var login = LoginConfiguration()
    /// `identity_providers:` (AuthServer only; IdentityProviderConfiguration.swift) in the file's order.
    public var identityProviders: [IdentityProviderConfiguration] = []
    /// `connections:` (per-user tokens for third-party APIs, ConnectionConfiguration.swift) in the file's order.
    public var connections: [ConnectionConfiguration] = []

    /// The largest file accepted: a configuration, not a data set.
    static let maximumSize = 1 << 20

    // MARK: settings

    /// The top-level keys that stand for environment variables: the variable's name lowercased,
    /// without `GATEHOUSE_` (`issuer` ↔ `GATEHOUSE_ISSUER`, `database_url` ↔ `DATABASE_URL`).
    /// Not here, so only in the environment: `GATEHOUSE_KEK` (a secret value; `kek_file` names
    /// the file instead), every `GATEHOUSE_INSECURE_*` switch (a file that is copied around or
    /// committed must not turn off a protection unnoticed), and `GATEHOUSE_CONFIG` itself.
    public static let settingVariables: [String] = [
        "GATEHOUSE_ISSUER", "GATEHOUSE_MCP_RESOURCE", "GATEHOUSE_ACCESS_TOKEN_TTL",
        "GATEHOUSE_LOG_LEVEL", "GATEHOUSE_LOG_FORMAT", "GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS",
        "DATABASE_URL", "DATABASE_MAX_CONNECTIONS", "DATABASE_TIMEOUT_SECONDS",
        "GATEHOUSE_AUTH_HOST", "GATEHOUSE_AUTH_PORT", "GATEHOUSE_ALLOW_INSECURE_HTTP_ISSUER", "GATEHOUSE_KEK_FILE",
        "GATEHOUSE_SIGNING_KEY_BITS", "GATEHOUSE_REFRESH_TOKEN_TTL", "GATEHOUSE_REFRESH_GRACE_SECONDS",
        "GATEHOUSE_SESSION_TTL", "GATEHOUSE_TRUSTED_PROXIES", "GATEHOUSE_AUDIT_RETENTION_DAYS", "GATEHOUSE_CLIENT_REAP_DAYS",
        "GATEHOUSE_CLIENT_METADATA_DOCUMENTS", "GATEHOUSE_CIMD_FETCHES_PER_HOST_PER_MINUTE",
        "GATEHOUSE_INTROSPECTION_CLIENTS", "GATEHOUSE_TOKEN_EXCHANGE_TTL",
        "GATEHOUSE_RS_HOST", "GATEHOUSE_RS_PORT", "GATEHOUSE_ALLOWED_ORIGINS", "GATEHOUSE_RESOURCE_NAME",
        "GATEHOUSE_JWKS_URI",
        "GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR", "GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE",
        "GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE", "GATEHOUSE_DUPLICATE_REGISTRATION_WINDOW",
        // Token exchange (identity.token): the ResourceServer's own client at the AuthServer.
        "GATEHOUSE_RS_CLIENT_ID", "GATEHOUSE_RS_CLIENT_SECRET_FILE",
    ]

    /// The file key of a variable.
    public static func fileKey(for variable: String) -> String {
        (variable.hasPrefix("GATEHOUSE_") ? String(variable.dropFirst("GATEHOUSE_".count)) : variable).lowercased()
    }

    static let settingKeys: [String: String] = Dictionary(settingVariables.map { (fileKey(for: $0), $0) }) { first, _ in first }

    // MARK: loading

    /// The file `GATEHOUSE_CONFIG` names, or nil when it is unset.
    public static func load(from environment: Environment) throws -> GatehouseConfigFile? {
        guard let path = environment.string(variable) else { return nil }
        let source = "\(variable) \(path)"
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ConfigurationError(source, "cannot read the file")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maximumSize + 1)) ?? Data()
        guard data.count <= maximumSize else { throw ConfigurationError(source, "is larger than \(maximumSize) bytes") }
        guard let text = String(data: data, encoding: .utf8) else { throw ConfigurationError(source, "is not UTF-8 text") }
        return try parse(text, path: path)
    }

    public static func parse(_ text: String, path: String) throws -> GatehouseConfigFile {
        let source = "\(variable) \(path)"
        let root: Yams.Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch {
            throw ConfigurationError(source, "is not valid YAML: \(Self.describe(error))")
        }
        var file = GatehouseConfigFile(path: path, settings: [:], resources: [])
        guard let root else { return file }   // an empty file configures nothing
        let top = ConfigFileNode(node: root, path: "", source: source)
        for (key, value) in try top.entries("a mapping at the top level (resources: and settings)") {
            if key == "resources" {
                file.resources = try ResourceListParser.parse(value)
            } else if key == "clients" {
                file.clients = try ClientListParser.parse(value)
            } else if key == "login" {
                file.login = try IdentityProviderListParser.parseLogin(value)
            } else if key == "identity_providers" {
                file.identityProviders = try IdentityProviderListParser.parse(value)
            } else if key == "connections" {
                file.connections = try ConnectionListParser.parse(value)
            } else if let variable = settingKeys[key] {
                file.settings[variable] = try value.settingValue()
            } else if key == "kek" {
                throw value.error("the key-encryption key is a secret: put it in a file named by kek_file, or in GATEHOUSE_KEK")
            } else if key.hasPrefix("insecure_") {
                throw value.error("insecure switches are accepted only as environment variables (GATEHOUSE_\(key.uppercased()))")
            } else {
                throw value.error("unknown key; expected resources, clients, connections, login, identity_providers or one of \(settingKeys.keys.sorted().joined(separator: ", "))")
            }
        }
        try file.checkConnectionNames(source: source)
        return file
    }

    /// Every resource's `connections:` names a connection of the file (in any order of the keys).
    private func checkConnectionNames(source: String) throws {
        let known = Set(connections.map(\.id))
        for (index, resource) in resources.enumerated() {
            for name in resource.connections where !known.contains(name) {
                throw ConfigurationError("\(source): resources[\(index)].connections",
                                         "\(name) is not the id of an entry of connections: (\(known.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// Yams' messages carry the line and column; the description is what an operator needs.
    private static func describe(_ error: any Error) -> String {
        String(describing: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
    }

    // MARK: layering

    /// The environment the services read: the file's settings under their variable names, with
    /// every variable that is actually set winning over the file.
    public func layered(over environment: Environment) -> Environment {
        Environment(settings.merging(environment.values.filter { !$0.value.trimmingCharacters(in: .whitespaces).isEmpty }) { _, set in set })
    }

    /// Reads `GATEHOUSE_CONFIG` (if set) and runs `body` with the layered environment. A problem
    /// with a value that came from the file is reported under its file key
    /// (`GATEHOUSE_CONFIG /etc/gatehouse.yaml: issuer: …`), one from a variable under the variable.
    public static func reading<T>(_ environment: Environment,
                                  _ body: (Environment, GatehouseConfigFile?) throws -> T) throws -> T {
        guard let file = try load(from: environment) else { return try body(environment, nil) }
        let layered = file.layered(over: environment)
        do {
            return try body(layered, file)
        } catch let error as ConfigurationError where file.settings[error.variable] != nil && environment.string(error.variable) == nil {
            throw ConfigurationError("\(variable) \(file.path): \(fileKey(for: error.variable))", error.problem)
        }
    }
}
