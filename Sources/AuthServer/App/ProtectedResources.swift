import Foundation
import Shared

/// The authorization server's view of the protected resources (`GATEHOUSE_CONFIG`'s `resources:`,
/// or the one built-in resource at `GATEHOUSE_MCP_RESOURCE`): which `resource` values it accepts
/// (RFC 8707), which scopes it may grant for each, and what the consent page says about them.
extension ProtectedResourceCatalog {
    /// RFC 8707 §2: "The authorization server … SHOULD audience-restrict issued access tokens to the
    /// resource(s) indicated". Every value must name one of our resources, and all the same one (a
    /// token has one `aud` here); none at all means the only resource, when there is only one.
    func target(of requested: [String]) -> Result<Resource, OAuthError> {
        var found: Resource?
        for value in requested {
            guard let identifier = ResourceIdentifier(value) else {
                return .failure(OAuthError(.invalidTarget, "resource must be an absolute URI without a fragment"))
            }
            guard let resource = resource(for: identifier) else {
                return .failure(OAuthError(.invalidTarget, "this server does not issue tokens for that resource"))
            }
            if let found, found.identifier != resource.identifier {
                return .failure(OAuthError(.invalidTarget, "ask for one resource per authorization request"))
            }
            found = resource
        }
        if let found { return .success(found) }
        guard resources.count == 1 else {
            return .failure(OAuthError(.invalidTarget, "resource is required: this server protects several resources"))
        }
        return .success(resources[0])
    }

    /// What a token for `resource` may carry: the OpenID Connect scopes and the resource's own.
    func grantableScopes(for resource: Resource?) -> [String] {
        ScopeCatalog.identityNames + (resource?.scopeNames ?? scopeNames)
    }

    /// Everything the authorization server may grant: its metadata's `scopes_supported`.
    /// `offline_access` is not among them: refresh tokens are issued by grant type
    /// (`refresh_token` in the client's `grant_types`), not by scope.
    var grantableNames: [String] { ScopeCatalog.identityNames + scopeNames }

    /// The consent page's words for a scope: the resource's text, else the OpenID Connect one.
    func consentWording(for scope: String) -> String {
        consentText(for: scope) ?? ScopeCatalog.consentText(for: scope)
    }

    /// The scope a remembered consent is stored and looked up under. With a config file the
    /// resource is part of it, so consent given for one resource (even for `openid` alone) is
    /// never taken as consent for another.
    func consentScope(_ scope: ScopeSet, resource: String) -> ScopeSet {
        isConfigured ? ScopeSet(tokens: scope.tokens + ["resource=" + resource]) : scope
    }
}
