import Foundation

/// One entry of the config file's `identity_providers:` list (issue 12, "Upstream identity
/// providers"): an OpenID Connect provider or GitHub that people sign in with instead of a
/// password. The login page shows a "Sign in with <name>" button per entry; the redirect URI to
/// register at the provider is `<issuer>/login/<id>/callback` (docs/federation.md).
public struct IdentityProviderConfiguration: Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable, CaseIterable {
        /// OpenID Connect: discovery at `<issuer>/.well-known/openid-configuration`, a signed ID token.
        case oidc
        /// GitHub (or GitHub Enterprise): OAuth, the person and their orgs from its REST API.
        case github
    }

    /// Who may sign in through the provider: nobody unless a rule matches.
    public struct Allow: Sendable, Equatable {
        /// OIDC: the domain of a *verified* `email` (`email_verified: true`), lowercased.
        public var emailDomains: [String] = []
        /// OIDC: exact `sub` values.
        public var subjects: [String] = []
        /// GitHub: logins, compared case-insensitively (GitHub's logins are).
        public var users: [String] = []
        /// GitHub: organisations the person is a member of.
        public var orgs: [String] = []

        public init(emailDomains: [String] = [], subjects: [String] = [], users: [String] = [], orgs: [String] = []) {
            (self.emailDomains, self.subjects, self.users, self.orgs) = (emailDomains, subjects, users, orgs)
        }
    }

    public var id: String
    /// The button: "Sign in with <name>".
    public var name: String
    public var kind: Kind
    /// OIDC only: the issuer identifier, compared byte for byte with the discovery document's
    /// `issuer` and the ID token's `iss`.
    public var issuer: String?
    public var clientID: String
    /// `client_secret_file` or `client_secret_env` (`SecretSource.Keys.clientSecret`).
    public var secret: SecretSource
    public var scopes: [String]
    public var allow: Allow
    /// Tests only: plain http to a provider on a loopback address.
    public var allowInsecureLoopback: Bool
    /// GitHub only: the web and API origins (GitHub Enterprise Server, tests).
    public var webURL: String
    public var apiURL: String
    /// `identity_providers[0]`: the entry's key path, for messages about it.
    public var keyPath: String

    public static let defaultGitHubWebURL = "https://github.com"
    public static let defaultGitHubAPIURL = "https://api.github.com"

    public init(id: String, name: String, kind: Kind, issuer: String? = nil, clientID: String, secret: SecretSource,
                scopes: [String], allow: Allow, allowInsecureLoopback: Bool = false,
                webURL: String = defaultGitHubWebURL, apiURL: String = defaultGitHubAPIURL,
                keyPath: String = "identity_providers[0]") {
        (self.id, self.name, self.kind, self.issuer, self.clientID, self.secret) = (id, name, kind, issuer, clientID, secret)
        (self.scopes, self.allow, self.allowInsecureLoopback) = (scopes, allow, allowInsecureLoopback)
        (self.webURL, self.apiURL, self.keyPath) = (webURL, apiURL, keyPath)
    }

    /// 1 to 64 letters, digits, `-` or `_`, starting with a letter or digit: a path segment of
    /// `/login/<id>` that needs no escaping. `restart` is taken by the error page's way back.
    public static func isValidID(_ id: String) -> Bool {
        guard let first = id.unicodeScalars.first, first.isASCIIAlphanumeric, (1...64).contains(id.utf8.count),
              !reservedIDs.contains(id) else { return false }
        return id.unicodeScalars.allSatisfy { $0.isASCIIAlphanumeric || $0 == "-" || $0 == "_" }
    }

    static let reservedIDs: Set<String> = ["restart"]
}

/// `login:` in the config file: which ways of signing in the login page offers.
public struct LoginConfiguration: Sendable, Equatable {
    /// `password: false` hides the username and password form (and `POST /login` refuses it).
    public var password: Bool

    public init(password: Bool = true) { self.password = password }
}

fileprivate extension Unicode.Scalar {
    var isASCIIAlphanumeric: Bool {
        (value >= 0x30 && value <= 0x39) || (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A)
    }
}

/// Reads `login:` and `identity_providers:`; every problem names its key.
enum IdentityProviderListParser {
    static let maximumProviders = 20
    static let keys = ["id", "name", "type", "issuer", "client_id", "client_secret_file", "client_secret_env", "scopes",
                       "allow", "allow_insecure_loopback", "web_url", "api_url"]

    static func parseLogin(_ node: ConfigFileNode) throws -> LoginConfiguration {
        let fields = try node.fields(allowed: ["password"])
        return LoginConfiguration(password: try fields["password"]?.bool() ?? true)
    }

    static func parse(_ node: ConfigFileNode) throws -> [IdentityProviderConfiguration] {
        let elements = try node.elements()
        guard elements.count <= maximumProviders else { throw node.error("more than \(maximumProviders) identity providers") }
        var providers: [IdentityProviderConfiguration] = []
        var idsSeen: [String: String] = [:]
        for element in elements {
            let provider = try parseProvider(element)
            if let other = idsSeen[provider.id] {
                throw ConfigFileNode(node: element.node, path: element.path + ".id", source: element.source)
                    .error("\"\(provider.id)\" is already the id of \(other)")
            }
            idsSeen[provider.id] = element.path
            providers.append(provider)
        }
        return providers
    }

    private static func parseProvider(_ node: ConfigFileNode) throws -> IdentityProviderConfiguration {
        let fields = try node.fields(allowed: keys)
        func required(_ key: String, _ why: String) throws -> ConfigFileNode {
            guard let value = fields[key] else { throw node.error("\(key) is missing (\(why))") }
            return value
        }
        let idNode = try required("id", "it names the provider in /login/<id>")
        let id = try idNode.nonEmptyString()
        guard IdentityProviderConfiguration.isValidID(id) else {
            throw idNode.error("must be 1 to 64 letters, digits, - or _, starting with a letter or digit (and not restart)")
        }
        let nameNode = try required("name", "the button says \"Sign in with <name>\"")
        let name = try nameNode.nonEmptyString()
        guard name.count <= 100 else { throw nameNode.error("is longer than 100 characters") }
        let typeNode = try required("type", "oidc or github")
        guard let kind = IdentityProviderConfiguration.Kind(rawValue: try typeNode.string()) else {
            throw typeNode.error("must be oidc or github")
        }
        let clientID = try required("client_id", "the client_id registered at the provider").nonEmptyString()
        let secret = try SecretSource.parse(fields, keys: .clientSecret, in: node,
                                            otherwise: "(the client secret the provider issued)")
        let insecure = try fields["allow_insecure_loopback"]?.bool() ?? false
        func url(_ key: String, default fallback: String?) throws -> String? {
            guard let value = fields[key] else { return fallback }
            let text = try value.nonEmptyString()
            if let problem = providerURLProblem(text, allowInsecureLoopback: insecure) { throw value.error(problem) }
            return text
        }
        var provider = IdentityProviderConfiguration(
            id: id, name: name, kind: kind, clientID: clientID, secret: secret, scopes: [], allow: .init(),
            allowInsecureLoopback: insecure, keyPath: node.path)
        switch kind {
        case .oidc:
            for key in ["web_url", "api_url"] where fields[key] != nil {
                throw fields[key]!.error("is for type: github only")
            }
            provider.issuer = try url("issuer", default: nil)
            guard provider.issuer != nil else { throw node.error("issuer is missing (discovery is at <issuer>/.well-known/openid-configuration)") }
            provider.scopes = try fields["scopes"]?.strings() ?? ["openid", "email", "profile"]
            if !provider.scopes.contains("openid"), let scopes = fields["scopes"] {
                throw scopes.error("must include openid (without it there is no ID token)")
            }
            provider.allow = try parseAllow(fields["allow"], keys: ["email_domains", "subjects"])
        case .github:
            if let issuer = fields["issuer"] { throw issuer.error("is for type: oidc only; GitHub uses web_url and api_url") }
            provider.webURL = try url("web_url", default: IdentityProviderConfiguration.defaultGitHubWebURL)!
            provider.apiURL = try url("api_url", default: IdentityProviderConfiguration.defaultGitHubAPIURL)!
            provider.allow = try parseAllow(fields["allow"], keys: ["users", "orgs"])
            provider.scopes = try fields["scopes"]?.strings()
                ?? (["read:user", "user:email"] + (provider.allow.orgs.isEmpty ? [] : ["read:org"]))
        }
        for (index, scope) in provider.scopes.enumerated()
        where scope.isEmpty || scope.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7F || $0 == "\"" || $0 == "\\" }) {
            throw ConfigFileNode(node: fields["scopes"]!.node, path: "\(node.path).scopes[\(index)]", source: node.source)
                .error("is not a scope token (RFC 6749 §3.3)")
        }
        return provider
    }

    private static func parseAllow(_ node: ConfigFileNode?, keys: [String]) throws -> IdentityProviderConfiguration.Allow {
        guard let node else { return .init() }
        let fields = try node.fields(allowed: keys)
        var allow = IdentityProviderConfiguration.Allow()
        allow.emailDomains = try fields["email_domains"]?.strings().map { $0.lowercased() } ?? []
        for (index, domain) in allow.emailDomains.enumerated() where domain.isEmpty || domain.contains("@") || domain.contains(" ") {
            throw ConfigFileNode(node: fields["email_domains"]!.node, path: "\(node.path).email_domains[\(index)]", source: node.source)
                .error("must be a domain such as example.com, without @")
        }
        allow.subjects = try fields["subjects"]?.strings() ?? []
        allow.users = try fields["users"]?.strings().map { $0.lowercased() } ?? []
        allow.orgs = try fields["orgs"]?.strings().map { $0.lowercased() } ?? []
        return allow
    }

    /// https, or http to a loopback host with `allow_insecure_loopback: true`; no query, fragment
    /// or credentials. The address the host resolves to is checked again at every request.
    static func providerURLProblem(_ text: String, allowInsecureLoopback: Bool) -> String? {
        guard let parts = URLComponents(string: text), let scheme = parts.scheme?.lowercased(),
              let host = parts.host, !host.isEmpty else { return "\"\(text)\" is not an absolute https URL" }
        guard parts.query == nil, parts.fragment == nil, parts.user == nil, parts.password == nil else {
            return "\"\(text)\" must not have a query, fragment or credentials"
        }
        switch scheme {
        case "https": return nil
        case "http" where allowInsecureLoopback && HTTPURL.isLoopbackHost(host): return nil
        case "http" where HTTPURL.isLoopbackHost(host):
            return "plain http is accepted only with allow_insecure_loopback: true (tests): \"\(text)\""
        default: return "must be an https URL: \"\(text)\""
        }
    }
}
