import Foundation
import Shared

/// Sign-in through upstream identity providers (issue 12): the start endpoints (login page and
/// account page) and the callback, wired once with what each names. The providers' secrets are
/// read here, so a missing one stops the build (exit 78) with the key named.
func federationEndpoints(_ env: AuthServerEnvironment, flow: AuthorizationFlow) throws -> [any AuthServerEndpoint] {
    let settings = env.configuration.federation
    let resolved = try settings.resolve()
    guard !resolved.isEmpty else { return [] }
    let cache = OIDCProviderCache()
    var providers: [String: FederatedProvider] = [:]
    for provider in resolved {
        let signIn: any UpstreamSignIn = switch provider.configuration.kind {
        case .oidc: OIDCSignIn(provider: provider, cache: cache)
        case .github: GitHubSignIn(provider: provider)
        }
        providers[provider.id] = FederatedProvider(resolved: provider, signIn: signIn)
    }
    let logins = FederatedLoginStore(database: env.database, kek: env.configuration.keyEncryptionKey)
    let failures = FederationFailurePage(pages: flow.pages, audit: env.audit,
                                         providerNames: providers.mapValues(\.configuration.name))
    return [
        FederatedLoginEndpoint(flow: flow, providers: providers, logins: logins, failures: failures),
        // The account page's buttons: the same upstream request, continuing to /account.
        AccountFederatedSignInEndpoint(forms: AccountForms(flow: flow, formGuard: SessionFormGuard(issuer: env.issuer)),
                                       providers: providers, logins: logins, failures: failures),
        FederatedCallbackEndpoint(flow: flow, providers: providers, logins: logins,
                                  identities: UserIdentityStore(database: env.database, noPasswordHash: env.users.dummyHash),
                                  failures: failures, audit: env.audit,
                                  sessionLifetime: env.configuration.loginSessionLifetime),
    ]
}
