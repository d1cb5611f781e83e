import Foundation
import Shared

/// Who may exchange tokens at `/token` (RFC 8693) and for which upstreams, read once at start-up.
///
/// RFC 8693 §5: "the authorization server … MUST only issue tokens … to clients that are
/// authorized to receive them", and §2.1 leaves which targets are acceptable to the server's
/// policy. Ours: only the confidential clients the operator created for a resource server
/// (`AuthServer clients create-resource-server`, or `migrate` with `GATEHOUSE_RS_CLIENT_ID`) may
/// exchange; and only for the upstream of a `GATEHOUSE_CONFIG` resource with `identity.token:
/// true`, each bound to that resource, whose tokens alone may be exchanged for it.
struct TokenExchangeSettings: Sendable, Equatable {
    /// An upstream that may receive exchanged tokens.
    struct Target: Sendable, Equatable {
        /// The upstream's `url`, canonical (`ResourceIdentifier`): the issued token's `aud`.
        var audience: String
        /// The resource identifiers a subject token must carry in `aud` to be exchanged for this
        /// upstream (the resources whose upstream it is), so a token for one resource never buys a
        /// token for another resource's upstream.
        var resources: [String]
    }

    var targets: [Target]
    /// Seconds an exchanged token lives at most; never beyond its subject token's `exp`.
    var lifetime: Int

    static let lifetimeVariable = "GATEHOUSE_TOKEN_EXCHANGE_TTL"

    init(environment env: Environment, resources catalog: ProtectedResourceCatalog) throws {
        var targets: [Target] = []
        let ours = Set(catalog.resources.map(\.identifier.value))
        for resource in catalog.resources where resource.configuration.identity.token {
            // Only an HTTP upstream has a URL to name; a stdio process gets its identity from its environment.
            guard case .http(let http) = resource.configuration.upstream, let audience = ResourceIdentifier(http.url) else { continue }
            guard !ours.contains(audience.value) else {
                throw ConfigurationError(GatehouseConfigFile.variable,
                    "resources: \(resource.path): upstream.http.url \(http.url) is a resource of this server, not an upstream")
            }
            if let index = targets.firstIndex(where: { $0.audience == audience.value }) {
                targets[index].resources.append(resource.identifier.value)
            } else {
                targets.append(Target(audience: audience.value, resources: [resource.identifier.value]))
            }
        }
        self.targets = targets
        lifetime = try env.int(Self.lifetimeVariable, default: 300, range: 30...3600)
    }

    /// The target named by a request's `audience`/`resource` value, compared in canonical form.
    func target(for requested: String) -> Target? {
        guard let canonical = ResourceIdentifier(requested) else { return nil }
        return targets.first { $0.audience == canonical.value }
    }

    /// Confidential, and created by the operator for a resource server.
    func allows(_ client: Client) -> Bool {
        !client.isPublic && client.isResourceServer
    }
}
