import Foundation

/// The protected resources of this deployment, as both services see them: the config file's
/// `resources:`, or without a file the one built-in notes resource at `GATEHOUSE_MCP_RESOURCE`
/// (exactly as before the config file existed).
///
/// A resource's identifier (RFC 8707 `resource`, RFC 9728 `resource`, the tokens' `aud`) is the
/// ResourceServer's public origin, taken from `GATEHOUSE_MCP_RESOURCE`, followed by its path:
/// both services compute it the same way from the same settings.
public struct ProtectedResourceCatalog: Sendable {
    public struct Resource: Sendable {
        public let identifier: ResourceIdentifier
        public let configuration: ProtectedResourceConfiguration

        public var path: String { configuration.path }
        public var name: String { configuration.name }
        public var scopeNames: [String] { configuration.scopeNames }
    }

    /// In the file's order.
    public let resources: [Resource]
    /// True when the resources came from a config file.
    public let isConfigured: Bool

    /// - Parameters:
    ///   - mcpResource: `GATEHOUSE_MCP_RESOURCE`: the one resource without a file; its origin with one.
    ///   - defaultName: `GATEHOUSE_RESOURCE_NAME`, the name of the resource without a file.
    public init(file: GatehouseConfigFile?, mcpResource: ResourceIdentifier, defaultName: String = "Gatehouse notes") {
        guard let file, !file.resources.isEmpty else {
            let path = URLComponents(string: mcpResource.value)?.path ?? ""
            resources = [Resource(identifier: mcpResource, configuration: ProtectedResourceConfiguration(
                path: path.isEmpty ? "/" : path, name: defaultName, scopes: ScopeCatalog.entries, tools: [],
                upstream: .builtin(.notes)))]
            isConfigured = false
            return
        }
        let origin = Self.origin(of: mcpResource)
        resources = file.resources.map { configuration in
            // The path is unreserved characters only (ResourceListParser.parsePath): always valid.
            Resource(identifier: ResourceIdentifier(origin + configuration.path)!, configuration: configuration)
        }
        isConfigured = true
    }

    /// `scheme://host[:port]` of a resource identifier.
    public static func origin(of resource: ResourceIdentifier) -> String {
        let parts = URLComponents(string: resource.value)!
        var origin = URLComponents()
        origin.scheme = parts.scheme
        origin.host = parts.host
        origin.port = parts.port
        return origin.string!
    }

    public func resource(for identifier: ResourceIdentifier) -> Resource? {
        resources.first { $0.identifier == identifier }
    }

    /// Every resource's scopes, in order: what the AuthServer may grant besides the OpenID ones.
    public var scopeNames: [String] {
        var seen = Set<String>()
        return resources.flatMap(\.scopeNames).filter { seen.insert($0).inserted }
    }

    /// The consent wording of a resource scope.
    public func consentText(for scope: String) -> String? {
        for resource in resources {
            if let entry = resource.configuration.scopes.first(where: { $0.name == scope }) { return entry.consentText }
        }
        return nil
    }
}
