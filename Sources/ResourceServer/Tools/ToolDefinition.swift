import MCP
import Shared

/// One MCP tool: what `tools/list` shows, which scopes a call needs, and the code that runs.
///
/// The handler receives the caller as a `VerifiedIdentity` built from the validated token, never
/// from anything in the request body or headers, so a client cannot act as someone else.
struct ToolDefinition: Sendable {
    typealias Handler = @Sendable (ToolArguments, VerifiedIdentity) async throws -> CallTool.Result

    let name: String
    let description: String
    /// JSON Schema for `arguments` (MCP tools: "inputSchema: JSON Schema defining expected parameters").
    let inputSchema: Value
    let annotations: Tool.Annotations
    /// Scopes from `ScopeCatalog` a token must carry to call this tool (listing needs none).
    let requiredScopes: [String]
    let handler: Handler

    var tool: Tool {
        Tool(name: name, description: description, inputSchema: inputSchema, annotations: annotations)
    }

    /// A schema for an object with the given properties, all listed in `required`, and nothing else.
    static func objectSchema(_ properties: [String: Value], required: [String] = []) -> Value {
        .object([
            "type": .string("object"),
            "properties": .object(properties),
            "required": .array(required.map(Value.string)),
            "additionalProperties": .bool(false),
        ])
    }
}
