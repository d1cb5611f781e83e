import MCP

extension ToolDefinition {
    /// Echoes the caller's identity as the resource server sees it. Needs no scope.
    static let whoami = ToolDefinition(
        name: "whoami",
        description: "Show who you are signed in as: subject, OAuth client and granted scopes.",
        inputSchema: objectSchema([:]),
        annotations: .init(title: "Who am I", readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false),
        requiredScopes: []
    ) { _, identity in
        struct Output: Encodable, Sendable {
            let subject: String
            let client_id: String
            let scopes: [String]
        }
        return try ToolResult.json(Output(subject: identity.subject, client_id: identity.clientID, scopes: identity.scopes.tokens))
    }
}
