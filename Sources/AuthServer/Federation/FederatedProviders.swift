import Foundation
import Shared

/// One configured identity provider, ready to use: its entry, its secret, and its protocol.
struct FederatedProvider: Sendable {
    let resolved: ResolvedIdentityProvider
    let signIn: any UpstreamSignIn

    var configuration: IdentityProviderConfiguration { resolved.configuration }

    /// Does an `allow` rule admit the person? OIDC: a listed `sub`, or the domain of a verified
    /// `email`; GitHub: a listed login, or membership of a listed organisation.
    func allows(_ identity: FederatedIdentity) -> Bool {
        let allow = configuration.allow
        switch configuration.kind {
        case .oidc:
            if allow.subjects.contains(identity.subject) { return true }
            guard identity.emailVerified, let email = identity.email, let at = email.lastIndex(of: "@") else { return false }
            return allow.emailDomains.contains(email[email.index(after: at)...].lowercased())
        case .github:
            if let login = identity.login, allow.users.contains(login.lowercased()) { return true }
            return !identity.organisations.isDisjoint(with: allow.orgs)
        }
    }

    /// The username a first sign-in's new account starts from: GitHub's login; for OIDC the
    /// e-mail address, else `preferred_username`, else `<provider>-user`.
    func usernameHint(_ identity: FederatedIdentity) -> String {
        switch configuration.kind {
        case .github: identity.login ?? "\(configuration.id)-user"
        case .oidc: identity.email ?? identity.login ?? "\(configuration.id)-user"
        }
    }
}

/// What the login page offers: the password form (`login.password`) and one button per provider.
struct LoginOptions: Sendable {
    var password = true
    /// `(id, name)` in the file's order.
    var providers: [(id: String, name: String)] = []

    /// For the login template.
    var templateValues: [[String: String]] { providers.map { ["id": $0.id, "name": $0.name] } }
}
