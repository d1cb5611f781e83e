import Logging
import MCP
import Shared

/// The tools this server offers, in `tools/list` order.
///
/// Every tool is listed to every caller; the caller's scopes decide what a *call* may do (a call
/// without the scope is refused with 403 insufficient_scope before it reaches here, and refused
/// again here in case it ever does).
struct ToolCatalog: Sendable {
    let tools: [ToolDefinition]

    /// `connection_status` only when the resource names `connections:` (issue 12).
    static func standard(notes: NoteStore, hasConnections: Bool = false) -> ToolCatalog {
        ToolCatalog(tools: [.whoami, .notesAdd(notes), .notesList(notes), .notesSearch(notes), .notesDelete(notes)]
            + (hasConnections ? [.connectionStatus] : []))
    }

    func definition(named name: String) -> ToolDefinition? {
        tools.first { $0.name == name }
    }

    var listResult: ListTools.Result { ListTools.Result(tools: tools.map(\.tool)) }

    /// Runs a call. Unknown tools are a JSON-RPC error (MCP tools: "Unknown tools" → -32602); bad
    /// arguments are an `isError` result; anything else is logged and reported without detail.
    func call(_ parameters: CallTool.Parameters, as identity: VerifiedIdentity, logger: Logger) async throws -> CallTool.Result {
        guard let definition = definition(named: parameters.name) else {
            throw MCPError.invalidParams("Unknown tool: \(parameters.name)")
        }
        guard identity.has(scopes: definition.requiredScopes) else {
            return ToolResult.error("this tool requires the scope \(definition.requiredScopes.joined(separator: " "))")
        }
        do {
            return try await definition.handler(ToolArguments(parameters.arguments), identity)
        } catch let error as ToolArgumentError {
            return ToolResult.error("Invalid arguments: \(error.description)")
        } catch let needed as ConnectionNeeded {
            // The gateway's answer for a tool whose connection is missing or broken: the link, as a tool error.
            logger.info("tool call needs a connection", metadata: [
                "event": "connection_needed", "tool": "\(definition.name)", "sub": "\(identity.subject)",
            ])
            return ToolResult.error(needed.message)
        } catch {
            logger.error("tool failed", metadata: ["tool": "\(definition.name)", "error": "\(String(reflecting: error))"])
            throw MCPError.internalError("the \(definition.name) tool failed; try again later")
        }
    }
}
