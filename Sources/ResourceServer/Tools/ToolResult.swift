import Foundation
import MCP

/// Builders for `tools/call` results: JSON text for any client, plus `structuredContent` for those
/// that read it (MCP 2025-06-18: "For backwards compatibility, a tool that returns structured content
/// SHOULD also return the serialized JSON in a TextContent block").
enum ToolResult {
    static func json(_ value: some Encodable & Sendable) throws -> CallTool.Result {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let data = try encoder.encode(value)
        let structured = try JSONDecoder().decode(Value.self, from: data)
        return CallTool.Result(content: [.text(text: String(decoding: data, as: UTF8.self), annotations: nil, _meta: nil)],
                               structuredContent: Optional<Value>.some(structured), isError: false)
    }

    static func error(_ message: String) -> CallTool.Result {
        CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }
}
