import Foundation
import MCP

/// Builders for `tools/call` results: JSON text for any client, plus `structuredContent` for those
/// that read it (MCP 2025-06-18: "For backwards compatibility, a tool that returns structured content
/// SHOULD also return the serialized JSON in a TextContent block").
///
/// The structured copy is never made by decoding the text with the SDK's `Value` decoder: that
/// compiles a regex for every string (swift-sdk 0.12.1, see DirectToolCall.swift) and was 30 % of
/// the CPU of a `whoami` call, and it turns a string of the form `data:…,…` (a note's text) into
/// binary data, which then goes out re-encoded as a different string.
enum ToolResult {
    /// A result the tool already has as a `Value`: encoded once, for the text block (by
    /// `ToolResultJSON` when it can, the same bytes `encoder` writes).
    static func json(_ value: Value) throws -> CallTool.Result {
        let text = try ToolResultJSON.encode(value).map { String(decoding: $0, as: UTF8.self) }
            ?? String(decoding: try encoder.encode(value), as: UTF8.self)
        return CallTool.Result(content: [.text(text: text, annotations: nil, _meta: nil)],
                               structuredContent: Optional<Value>.some(value), isError: false)
    }

    /// Any `Encodable` result: encoded for the text block, and read back with `PlainValue` (the SDK's
    /// decoding minus its data-URL guess) for `structuredContent`.
    static func json(_ value: some Encodable & Sendable) throws -> CallTool.Result {
        let data = try encoder.encode(value)
        let structured = try JSONDecoder().decode(PlainValue.self, from: data).value
        return CallTool.Result(content: [.text(text: String(decoding: data, as: UTF8.self), annotations: nil, _meta: nil)],
                               structuredContent: Optional<Value>.some(structured), isError: false)
    }

    static func error(_ message: String) -> CallTool.Result {
        CallTool.Result(content: [.text(text: message, annotations: nil, _meta: nil)], isError: true)
    }

    /// Sorted keys, so the text block reads the same on every call.
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        return encoder
    }()
}
