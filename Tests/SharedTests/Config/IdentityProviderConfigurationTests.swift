import Foundation
import Shared
import Testing

/// `login:` and `identity_providers:` of the config file (issue 12): what a good file yields, and
/// one readable line naming the key for every bad one (the services exit 78 with it).
@Suite("identity_providers: and login: in GATEHOUSE_CONFIG")
struct IdentityProviderConfigurationTests {
    static let good = """
        login:
          password: false
        identity_providers:
          - id: corp
            name: Corp SSO
            type: oidc
            issuer: https://sso.example.com/realms/staff
            client_id: gatehouse
            client_secret_file: /run/secrets/corp
            allow:
              email_domains: [Example.COM]
              subjects: ["248289761001"]
          - id: github
            name: GitHub
            type: github
            client_id: Iv1.abc
            client_secret_env: GITHUB_SECRET
            allow: {users: [OctoCat], orgs: [example-org]}
          - id: test
            name: Test provider
            type: oidc
            issuer: http://127.0.0.1:5556
            client_id: t
            client_secret_env: T
            scopes: [openid, email]
            allow_insecure_loopback: true
        """

    @Test("a good file: every key read, defaults applied, domains, users and orgs lowercased")
    func good() throws {
        let file = try GatehouseConfigFile.parse(Self.good, path: "/etc/g.yaml")
        #expect(file.login == LoginConfiguration(password: false))
        #expect(file.identityProviders.map(\.id) == ["corp", "github", "test"])
        let corp = file.identityProviders[0]
        #expect(corp.kind == .oidc && corp.issuer == "https://sso.example.com/realms/staff" && corp.clientID == "gatehouse")
        #expect(corp.secret == .file("/run/secrets/corp"))
        #expect(corp.scopes == ["openid", "email", "profile"])
        #expect(corp.allow == .init(emailDomains: ["example.com"], subjects: ["248289761001"]))
        #expect(corp.keyPath == "identity_providers[0]")
        let github = file.identityProviders[1]
        #expect(github.kind == .github && github.secret == .environment("GITHUB_SECRET"))
        #expect(github.webURL == "https://github.com" && github.apiURL == "https://api.github.com")
        #expect(github.allow == .init(users: ["octocat"], orgs: ["example-org"]))
        #expect(github.scopes == ["read:user", "user:email", "read:org"])
        #expect(file.identityProviders[2].allowInsecureLoopback && file.identityProviders[2].scopes == ["openid", "email"])
    }

    @Test("without login: the password form stays on")
    func defaults() throws {
        #expect(try GatehouseConfigFile.parse("identity_providers: []", path: "/x").login.password)
    }

    static let base = "identity_providers:\n  - id: corp\n    name: Corp\n    client_id: c\n    client_secret_env: S\n"

    static let oidc = base + "    type: oidc\n"
    static let github = base + "    type: github\n"
    static let second = "  - id: corp\n    name: C\n    type: github\n    client_id: c\n    client_secret_env: S\n"

    static let badCases: [(String, String)] = [
        ("login: {password: yes}", "login.password: expected true or false"),
        ("login: {passwords: true}", "login.passwords: unknown key; expected one of password"),
        ("identity_providers: {id: a}", "identity_providers: expected a list"),
        (base + "    type: saml\n", "identity_providers[0].type: must be oidc or github"),
        (base, "identity_providers[0]: type is missing"),
        (oidc, "identity_providers[0]: issuer is missing"),
        (oidc + "    issuer: http://sso.example.com\n", "identity_providers[0].issuer: must be an https URL"),
        (oidc + "    issuer: http://127.0.0.1:5556\n", "identity_providers[0].issuer: plain http is accepted only with allow_insecure_loopback: true"),
        (oidc + "    issuer: https://sso.example.com?x=1\n", "identity_providers[0].issuer: \"https://sso.example.com?x=1\" must not have a query"),
        (oidc + "    issuer: https://s.example\n    scopes: [email]\n", "identity_providers[0].scopes: must include openid"),
        (oidc + "    issuer: https://s.example\n    allow: {users: [a]}\n", "identity_providers[0].allow.users: unknown key; expected one of email_domains, subjects"),
        (oidc + "    issuer: https://s.example\n    allow: {email_domains: [\"@example.com\"]}\n", "identity_providers[0].allow.email_domains[0]: must be a domain"),
        (oidc + "    issuer: https://s.example\n    web_url: https://g.example\n", "identity_providers[0].web_url: is for type: github only"),
        (github + "    issuer: https://s.example\n", "identity_providers[0].issuer: is for type: oidc only"),
        (github + "    allow: {email_domains: [a.example]}\n", "identity_providers[0].allow.email_domains: unknown key; expected one of users, orgs"),
        (github + "    client_secret_file: /x\n", "identity_providers[0].client_secret_env: use one of client_secret_file and client_secret_env"),
        (github + "    colour: blue\n", "identity_providers[0].colour: unknown key; expected one of id, name, type"),
        ("identity_providers:\n  - id: corp\n    name: C\n    type: github\n    client_id: c\n", "identity_providers[0]: needs client_secret_file or client_secret_env"),
        ("identity_providers:\n  - id: a/b\n    name: C\n    type: github\n    client_id: c\n    client_secret_env: S\n", "identity_providers[0].id: must be 1 to 64 letters"),
        ("identity_providers:\n  - id: restart\n    name: C\n    type: github\n    client_id: c\n    client_secret_env: S\n", "identity_providers[0].id: must be 1 to 64 letters"),
        (github + second,
         "identity_providers[1].id: \"corp\" is already the id of identity_providers[0]"),
    ]

    @Test("bad values name their key", arguments: badCases)
    func badValues(text: String, expected: String) {
        do {
            _ = try GatehouseConfigFile.parse(text, path: "/etc/g.yaml")
            Issue.record("accepted: \(text)")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("GATEHOUSE_CONFIG /etc/g.yaml: \(expected)"), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }
}
