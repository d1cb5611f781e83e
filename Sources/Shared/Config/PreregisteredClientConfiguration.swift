import Foundation

/// One entry of the config file's `clients:` list (issue 13 item 1): a client the AuthServer
/// creates, or updates to match, at every start, so a deployment is reproducible and the client
/// keeps its ID across restarts. docs/configuration.md documents the keys.
///
/// The shape is checked here, while the file is read; the AuthServer then checks the redirect
/// URIs against its registration policy and reads the secret, naming the key (`keyPath`) of any
/// problem, before it starts.
public struct PreregisteredClientConfiguration: Sendable, Equatable {
    public var id: String
    public var name: String
    public var redirectURIs: [String]
    /// `secret_file` or `secret_env` (`SecretSource.Keys.secret`); nil for `public: true`, no
    /// secret, PKCE only.
    public var secret: SecretSource?
    public var trusted: Bool
    /// `clients[2]`: the entry's key path, for messages about it.
    public var keyPath: String

    /// 1 to 128 letters, digits or `. _ -`, starting with a letter or digit: never a URL, which
    /// would read as a client ID metadata document, never taken for a command-line option, and
    /// safe in a shell and a URL. Also what `clients create --id` accepts.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.utf8.first, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A)
                || (first >= 0x30 && first <= 0x39) else { return false }
        return (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
            (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                || byte == 0x2D || byte == 0x2E || byte == 0x5F
        }
    }

    public static let idRule = "must be 1 to 128 letters, digits or . _ -, starting with a letter or digit (and not a URL)"

    public init(id: String, name: String, redirectURIs: [String], secret: SecretSource?, trusted: Bool, keyPath: String) {
        (self.id, self.name, self.redirectURIs, self.secret, self.trusted, self.keyPath) = (id, name, redirectURIs, secret, trusted, keyPath)
    }
}

/// Reads the config file's `clients:` list; every problem names its key.
enum ClientListParser {
    static let maximumClients = 100
    static let keys = ["id", "name", "redirect_uris", "secret_file", "secret_env", "public", "trusted"]

    static func parse(_ node: ConfigFileNode) throws -> [PreregisteredClientConfiguration] {
        let elements = try node.elements()
        guard elements.count <= maximumClients else { throw node.error("more than \(maximumClients) clients") }
        var clients: [PreregisteredClientConfiguration] = []
        var idsSeen: [String: String] = [:]
        for element in elements {
            let client = try parseClient(element)
            if let other = idsSeen[client.id] {
                throw ConfigFileNode(node: element.node, path: element.path + ".id", source: element.source)
                    .error("\"\(client.id)\" is already the id of \(other)")
            }
            idsSeen[client.id] = element.path
            clients.append(client)
        }
        return clients
    }

    private static func parseClient(_ node: ConfigFileNode) throws -> PreregisteredClientConfiguration {
        let fields = try node.fields(allowed: keys)
        guard let idNode = fields["id"] else { throw node.error("id is missing (the client_id the client is configured with)") }
        let id = try idNode.nonEmptyString()
        guard PreregisteredClientConfiguration.isValidID(id) else { throw idNode.error(PreregisteredClientConfiguration.idRule) }
        guard let nameNode = fields["name"] else { throw node.error("name is missing (the consent page shows it)") }
        let name = try nameNode.nonEmptyString()
        guard name.count <= 100 else { throw nameNode.error("is longer than 100 characters") }
        guard let redirectsNode = fields["redirect_uris"] else { throw node.error("redirect_uris is missing") }
        let redirects = try redirectsNode.strings()
        guard !redirects.isEmpty else { throw redirectsNode.error("must list at least one redirect URI") }
        let isPublic = try fields["public"]?.bool() ?? false
        if isPublic, let given = try SecretSource.given(in: fields, keys: .secret) {
            throw given.node.error("a public client has no secret; remove \(given.key) or public: true")
        }
        let secret = isPublic ? nil : try SecretSource.parse(fields, keys: .secret, in: node,
                                                            otherwise: "(a confidential client), or public: true")
        return PreregisteredClientConfiguration(
            id: id, name: name, redirectURIs: redirects, secret: secret,
            trusted: try fields["trusted"]?.bool() ?? false, keyPath: node.path)
    }
}
