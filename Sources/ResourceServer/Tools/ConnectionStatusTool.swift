import Foundation
import MCP
import Shared

extension ToolDefinition {
    /// `connection_status`: which of this resource's connections the caller has and whether they
    /// work, listed only when the built-in resource names `connections:` (issue 12). Each one is
    /// looked up as a tool that uses it would (`identity.connections`): a token about to expire is
    /// refreshed at its provider, so "connected" means a working token. Nothing else is called
    /// and no token appears in the result.
    ///
    /// A connection that is missing or broken makes the result a tool error with the connect
    /// link, the same one a gateway tool gets (MCP tools: "Tool Execution Errors … reported in
    /// tool results with isError: true"), so the model shows the person where to go.
    static let connectionStatus = ToolDefinition(
        name: "connection_status",
        description: "Show which of this server's connected accounts (third-party APIs) you have connected, and whether they work. "
            + "Gives the link to connect one that is missing or broken.",
        inputSchema: objectSchema([:]),
        annotations: .init(title: "Connection status", readOnlyHint: true, destructiveHint: false, idempotentHint: true,
                           openWorldHint: false),
        requiredScopes: []
    ) { arguments, identity in
        try arguments.onlyAllow([])
        let connections = identity.connections
        var entries: [Value] = []
        var needed: [(name: String, state: String)] = []
        var neededConnections: [ConnectionConfiguration] = []
        for connection in connections.configured {
            var entry: [String: Value] = ["id": .string(connection.id), "name": .string(connection.name)]
            switch try await connections.state(of: connection) {
            case .connected(let tokens):
                entry["status"] = "connected"
                if let expiresAt = tokens.expiresAt { entry["expires_at"] = .string(Self.timestamp(expiresAt)) }
                entry["scopes"] = .array(tokens.scopes.split(separator: " ").map { .string(String($0)) })
            case .unavailable:
                entry["status"] = "unavailable"
                entry["detail"] = "the provider could not be reached to renew the token; try again in a moment"
            case .missing:
                entry["status"] = "not_connected"
                needed.append((connection.name, "is not connected"))
                neededConnections.append(connection)
            case .broken:
                entry["status"] = "broken"
                needed.append((connection.name, "must be connected again (the provider refused to renew it)"))
                neededConnections.append(connection)
            }
            if let url = connections.connectURL(connection) { entry["connect_url"] = .string(url) }
            entries.append(.object(entry))
        }
        guard needed.isEmpty else {
            let lines = needed.map { "Your \($0.name) account \($0.state)." }
            return ToolResult.error(lines.joined(separator: "\n") + "\n" + connections.neededText(neededConnections))
        }
        return try ToolResult.json(Value.object(["connections": .array(entries)]))
    }

    private static func timestamp(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}
