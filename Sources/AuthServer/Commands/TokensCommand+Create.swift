import ArgumentParser
import Foundation
import Shared

extension TokensCommand {
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create an API key and print it once.",
            discussion: """
                Example: AuthServer tokens create --user alice --resource https://mcp.example.com/mcp/notes \
                --scope notes:read --expires 30d --name "alice's laptop"

                The key is printed alone on standard output (so KEY=$(AuthServer tokens create …) works) and \
                its details on standard error; it cannot be shown again. --resource is a resource identifier \
                or its path (/mcp/notes); --scope may be repeated and must be that resource's scopes. \
                --expires is required: a number of days (30d) or hours (12h), at most 365d. A disabled or \
                unknown user is refused.
                """)
        @Option(help: "The user the key acts for.") var user: String
        @Option(help: "The resource the key works at (identifier or path).") var resource: String
        @Option(help: "A scope of that resource; repeat for several.") var scope: [String]
        @Option(help: "Lifetime: 30d, 12h (at most 365d).") var expires: String
        @Option(help: "A name to recognise the key by in `tokens list`.") var name: String?
        @Option(help: "The client label the ResourceServer reports for calls with this key.")
        var client: String = TokensCommand.defaultClientLabel

        func validate() throws {
            _ = try TokensCommand.lifetime(expires)
            if let name, name.isEmpty || name.count > 200 || name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                throw ValidationError("--name must be 1 to 200 characters without control characters")
            }
            guard (1...64).contains(client.count), client.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                throw ValidationError("--client must be 1 to 64 printable ASCII characters without spaces")
            }
        }

        func run() async throws {
            let catalog = try AdminRuntime.configuration { try TokensCommand.catalog() }
            let target: ProtectedResourceCatalog.Resource, scopes: ScopeSet
            do {
                (target, scopes) = try TokensCommand.resolve(resource: resource, scopes: scope, in: catalog)
            } catch {
                AdminRuntime.printError(error.message)
                throw ExitCode.validationFailure
            }
            let now = Date()
            let new = APIKeyStore.NewKey(username: user, name: name, clientLabel: client, resource: target.identifier.value,
                                         scope: scopes, expiresAt: now.addingTimeInterval(try TokensCommand.lifetime(expires)))
            let user = self.user
            let outcome = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                let outcome = try await APIKeyStore(database: database).create(new, now: now)
                if case .created(let record, _) = outcome {
                    var detail = AdminRuntime.auditDetail
                    detail["api_key"] = record.id.uuidString.lowercased()
                    detail["resource"] = record.resource
                    detail["scope"] = record.scope.description
                    await AuditLog(database: database, logger: logger)
                        .record(.apiKeyCreated, username: record.username, detail: detail)
                }
                return outcome
            }
            switch outcome {
            case .noSuchUser:
                AdminRuntime.printError("no user named \"\(user.lowercased())\"")
                throw ExitCode.failure
            case .userDisabled:
                AdminRuntime.printError("user \"\(user.lowercased())\" is disabled; enable them first")
                throw ExitCode.failure
            case .created(let record, let key):
                print(key)
                FileHandle.standardError.write(Data("""
                    created API key \(record.id.uuidString.lowercased()) for \(record.username) at \(record.resource) \
                    (scope: \(record.scope.description)), expires \(OutputTable.format(record.expiresAt) ?? "-"). \
                    The key above is shown only this once.

                    """.utf8))
            }
        }
    }

    static let defaultClientLabel = "api-key"
    static let maximumLifetime: TimeInterval = 365 * 86_400

    struct Problem: Error { let message: String }

    /// `30d` or `12h`: an expiry is required (a key that never expires is a leak waiting to happen).
    static func lifetime(_ text: String) throws -> TimeInterval {
        let unit = text.last
        guard let unit, unit == "d" || unit == "h", let count = Int(text.dropLast()), count > 0 else {
            throw ValidationError("--expires must be a number of days or hours, like 30d or 12h")
        }
        let seconds = TimeInterval(count) * (unit == "d" ? 86_400 : 3_600)
        guard seconds <= maximumLifetime else { throw ValidationError("--expires may be at most 365d") }
        return seconds
    }

    /// The configured resources, read like `serve` reads them (GATEHOUSE_CONFIG, else GATEHOUSE_MCP_RESOURCE).
    static func catalog() throws -> ProtectedResourceCatalog {
        try GatehouseConfigFile.reading(Shared.Environment()) { environment, file in
            let text = environment.string("GATEHOUSE_MCP_RESOURCE", default: AuthServerConfiguration.defaultResource)
            guard let resource = ResourceIdentifier(text) else {
                throw ConfigurationError("GATEHOUSE_MCP_RESOURCE", "\"\(text)\" is not an absolute http(s) URL without fragment")
            }
            return ProtectedResourceCatalog(file: file, mcpResource: resource)
        }
    }

    /// The resource (by identifier or path) and the scopes, each of which must be the resource's own.
    static func resolve(resource text: String, scopes raw: [String],
                        in catalog: ProtectedResourceCatalog) throws(Problem) -> (ProtectedResourceCatalog.Resource, ScopeSet) {
        let found = catalog.resources.first { $0.identifier.value == text || $0.path == text }
        guard let found else {
            let known = catalog.resources.map(\.identifier.value).joined(separator: ", ")
            throw Problem(message: "unknown resource \"\(text)\"; the configured resources are: \(known)")
        }
        let scopes = ScopeSet(tokens: raw.flatMap { $0.split(separator: " ").map(String.init) })
        guard !scopes.isEmpty else { throw Problem(message: "at least one --scope is required") }
        let allowed = Set(found.scopeNames)
        if let unknown = scopes.tokens.first(where: { !allowed.contains($0) }) {
            throw Problem(message: "scope \"\(unknown)\" is not one of \(found.identifier.value)'s scopes: "
                          + found.scopeNames.joined(separator: " "))
        }
        return (found, scopes)
    }
}
