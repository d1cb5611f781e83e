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
        // Built as a `Value` directly: no encode-and-decode round trip for the structured copy.
        try ToolResult.json(Value.object([
            "subject": .string(identity.subject),
            "client_id": .string(identity.clientID),
            "scopes": .array(identity.scopes.tokens.map(Value.string)),
        ]))
    }
}
