import Foundation
import Shared

/// The account page's endpoints (issue 13 item 4), wired once with what each names. They share
/// the authorization flow's pages, sessions and cookies, and one CSRF guard.
func accountEndpoints(_ env: AuthServerEnvironment, flow: AuthorizationFlow) -> [any AuthServerEndpoint] {
    let configuration = env.configuration
    let forms = AccountForms(flow: flow, formGuard: SessionFormGuard(issuer: env.issuer))
    let grants = UserGrantStore(database: env.database)
    let apiKeys = APIKeyStore(database: env.database)
    return [
        AccountEndpoint(forms: forms, grants: grants, apiKeys: apiKeys, apiKeysEnabled: configuration.apiKeysEnabled,
                        resources: configuration.resources, connections: flow.connections),
        AccountSignInEndpoint(forms: forms, signIn: env.passwordSignIn, sessionLifetime: configuration.loginSessionLifetime),
        AccountGrantsEndpoint(forms: forms, grants: grants, audit: env.audit),
        AccountKeysEndpoint(forms: forms, apiKeys: apiKeys, apiKeysEnabled: configuration.apiKeysEnabled,
                            resources: configuration.resources, audit: env.audit),
        LogoutEndpoint(forms: forms, audit: env.audit),
    ]
}
