import Foundation

/// One entry of the config file's `connections:` list (issue 12, "Connections"): a third-party API
/// whose OAuth authorization server each user connects their own account at, once. Gatehouse is
/// that API's OAuth client: it keeps each user's tokens sealed (`UserConnectionStore`), refreshes
/// them, and hands the access token to the tools of every resource that names the connection in
/// its `connections:` (docs/federation.md, "Connections").
///
/// The redirect URI to register at the provider is `<issuer>/connections/<id>/callback`.
public struct ConnectionConfiguration: Sendable, Equatable {
    public var id: String
    /// The button: "Connect <name>".
    public var name: String
    public var authorizationEndpoint: String
    public var tokenEndpoint: String
    /// Optional (RFC 7009): where disconnecting revokes the user's refresh token.
    public var revocationEndpoint: String?
    public var clientID: String
    /// `client_secret_file` or `client_secret_env` (`SecretSource.Keys.clientSecret`); nil for
    /// neither: a public client (`token_endpoint_auth_method=none`), and PKCE is then required.
    public var secret: SecretSource?
    public var scopes: [String]
    /// RFC 7636 PKCE with S256 on the provider's authorization request.
    public var pkce: Bool
    /// Tests only: plain http to a provider on a loopback address.
    public var allowInsecureLoopback: Bool
    /// `connections[0]`: the entry's key path, for messages about it.
    public var keyPath: String

    public init(id: String, name: String, authorizationEndpoint: String, tokenEndpoint: String,
                revocationEndpoint: String? = nil, clientID: String, secret: SecretSource?, scopes: [String] = [],
                pkce: Bool = true, allowInsecureLoopback: Bool = false, keyPath: String = "connections[0]") {
        (self.id, self.name, self.authorizationEndpoint, self.tokenEndpoint) = (id, name, authorizationEndpoint, tokenEndpoint)
        (self.revocationEndpoint, self.clientID, self.secret, self.scopes) = (revocationEndpoint, clientID, secret, scopes)
        (self.pkce, self.allowInsecureLoopback, self.keyPath) = (pkce, allowInsecureLoopback, keyPath)
    }

    /// `X-Gatehouse-Connection-<id>`: what an HTTP upstream receives the user's access token in.
    public var headerName: String { "X-Gatehouse-Connection-\(id)" }

    /// `GATEHOUSE_CONNECTION_<ID>_TOKEN`: what a stdio upstream receives it in (the id uppercased,
    /// every other character than a letter or digit written `_`).
    public var environmentVariable: String { Self.environmentVariable(for: id) }

    public static func environmentVariable(for id: String) -> String {
        let name = String(id.uppercased().unicodeScalars.map { scalar in
            (scalar.value >= 0x41 && scalar.value <= 0x5A) || (scalar.value >= 0x30 && scalar.value <= 0x39)
                ? Character(scalar) : "_"
        })
        return "GATEHOUSE_CONNECTION_\(name)_TOKEN"
    }

    /// 1 to 64 letters, digits, `-` or `_`, starting with a letter or digit: a path segment of
    /// the callback URL and an HTTP header name (RFC 9110 §5.6.2 `token`) as it stands.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, isAlphanumeric(first), (1...64).contains(id.utf8.count) else { return false }
        return id.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
    }
}

/// Reads the config file's `connections:` list; every problem names its key.
enum ConnectionListParser {
    static let maximumConnections = 50
    static let keys = ["id", "name", "authorization_endpoint", "token_endpoint", "revocation_endpoint", "client_id",
                       "client_secret_env", "client_secret_file", "scopes", "pkce", "allow_insecure_loopback"]

    static func parse(_ node: ConfigFileNode) throws -> [ConnectionConfiguration] {
        let elements = try node.elements()
        guard elements.count <= maximumConnections else { throw node.error("more than \(maximumConnections) connections") }
        var connections: [ConnectionConfiguration] = []
        var variablesSeen: [String: String] = [:]
        for element in elements {
            let connection = try parseConnection(element)
            // Two ids that differ only in case or in - versus _ would share one environment variable.
            if let other = variablesSeen[connection.environmentVariable] {
                throw ConfigFileNode(node: element.node, path: element.path + ".id", source: element.source)
                    .error("\"\(connection.id)\" clashes with the id of \(other) (both are \(connection.environmentVariable) for stdio tools)")
            }
            variablesSeen[connection.environmentVariable] = element.path
            connections.append(connection)
        }
        return connections
    }

    private static func parseConnection(_ node: ConfigFileNode) throws -> ConnectionConfiguration {
        let fields = try node.fields(allowed: keys)
        func required(_ key: String, _ why: String) throws -> ConfigFileNode {
            guard let value = fields[key] else { throw node.error("\(key) is missing (\(why))") }
            return value
        }
        let idNode = try required("id", "the connection's name in resources' connections: and in its callback URL")
        let id = try idNode.nonEmptyString()
        guard ConnectionConfiguration.isValidID(id) else {
            throw idNode.error("must be 1 to 64 letters, digits, - or _, starting with a letter or digit")
        }
        let nameNode = try required("name", "the button says Connect <name>")
        let name = try nameNode.nonEmptyString()
        guard name.count <= 100 else { throw nameNode.error("is longer than 100 characters") }
        let insecure = try fields["allow_insecure_loopback"]?.bool() ?? false
        let authorization = try endpoint(try required("authorization_endpoint", "where the user is sent to connect"), insecure: insecure)
        let token = try endpoint(try required("token_endpoint", "where codes and refresh tokens are exchanged"), insecure: insecure)
        let revocation = try fields["revocation_endpoint"].map { try endpoint($0, insecure: insecure) }
        let clientID = try required("client_id", "Gatehouse's client id at the provider").nonEmptyString()
        let secret = try SecretSource.parse(fields, keys: .clientSecret)
        let scopes = try fields["scopes"]?.strings() ?? []
        if let index = scopes.firstIndex(where: { !ResourceListParser.isScopeToken($0) }), let scopesNode = fields["scopes"] {
            throw ConfigFileNode(node: scopesNode.node, path: "\(scopesNode.path)[\(index)]", source: scopesNode.source)
                .error("is not a scope (RFC 6749 §3.3: printable ASCII without spaces, quotes or backslashes)")
        }
        let pkce = try fields["pkce"]?.bool() ?? true
        if secret == nil, !pkce {
            throw node.error("a connection without client_secret_file or client_secret_env is a public client and needs pkce: true")
        }
        return ConnectionConfiguration(
            id: id, name: name, authorizationEndpoint: authorization, tokenEndpoint: token, revocationEndpoint: revocation,
            clientID: clientID, secret: secret, scopes: scopes, pkce: pkce, allowInsecureLoopback: insecure, keyPath: node.path)
    }

    /// An absolute https URL without credentials or fragment; plain http only to a loopback
    /// address and only with `allow_insecure_loopback: true` (tests). Where the host resolves is
    /// checked again at every request (`OutboundAddressPolicy`).
    private static func endpoint(_ node: ConfigFileNode, insecure: Bool) throws -> String {
        let raw = try node.nonEmptyString()
        guard let parts = URLComponents(string: raw), let scheme = parts.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty
        else { throw node.error("\"\(raw)\" is not an absolute https URL") }
        guard parts.user == nil, parts.password == nil else { throw node.error("must not contain credentials") }
        guard parts.fragment == nil else { throw node.error("must not have a fragment") }
        if scheme == "http" {
            guard HTTPURL.isLoopbackHost(host) else { throw node.error("must be https (plain http only to loopback, for tests)") }
            guard insecure else { throw node.error("plain http to a loopback address needs allow_insecure_loopback: true (tests only)") }
        }
        return raw
    }
}
