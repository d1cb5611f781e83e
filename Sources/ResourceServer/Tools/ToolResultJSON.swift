import Foundation
import MCP

/// JSON for the built-in tools' results, written straight into bytes.
///
/// Why not `JSONEncoder`: a `whoami` call encoded its `Value` twice through `JSONEncoder` (once
/// for the text block, once inside `CallTool.Result`), and those passes were 15 % of the
/// ResourceServer's CPU at load, the largest cost a `tools/call` had over a `tools/list`
/// (issue 14: "make it cost no more than tools/list plus the tool's own work";
/// docs/benchmarks.md, "tools/call"). `Value` is a small closed enum, so writing it directly is
/// short, and `ToolResultJSONTests` checks the bytes against `JSONEncoder`'s for every case
/// written here.
///
/// Only the common shapes are written here: values without `.double` or `.data` (whose
/// formatting is `JSONEncoder`'s business), and results whose content is text blocks without
/// annotations or `_meta`. Anything else returns nil and the caller uses `JSONEncoder`, so
/// nothing a tool can return is refused.
enum ToolResultJSON {
    /// `value` as `JSONEncoder` with `.sortedKeys` and `.withoutEscapingSlashes` writes it, or
    /// nil when it holds a `.double` or `.data`.
    static func encode(_ value: Value) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        return append(value, to: &out) ? out : nil
    }

    /// `{"content":[{"type":"text","text":…}…],"structuredContent":…,"isError":…}`: the members
    /// `CallTool.Result.encode(to:)` writes, in its order; nil for a shape not written here.
    static func encode(_ result: CallTool.Result) -> [UInt8]? {
        guard result._meta == nil else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(512)
        out.append(contentsOf: #"{"content":["#.utf8)
        for (index, block) in result.content.enumerated() {
            guard case .text(let text, nil, nil) = block else { return nil }
            if index > 0 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: #"{"type":"text","text":"#.utf8)
            appendString(text, to: &out)
            out.append(UInt8(ascii: "}"))
        }
        out.append(UInt8(ascii: "]"))
        if let structured = result.structuredContent {
            out.append(contentsOf: #","structuredContent":"#.utf8)
            guard append(structured, to: &out) else { return nil }
        }
        if let isError = result.isError {
            out.append(contentsOf: (isError ? #","isError":true"# : #","isError":false"#).utf8)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    private static func append(_ value: Value, to out: inout [UInt8]) -> Bool {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let bool): out.append(contentsOf: (bool ? "true" : "false").utf8)
        case .int(let int): out.append(contentsOf: String(int).utf8)
        case .string(let string): appendString(string, to: &out)
        case .double, .data: return false
        case .array(let items):
            out.append(UInt8(ascii: "["))
            for (index, item) in items.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                guard append(item, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            // `.sortedKeys` compares keys as `String`s do.
            for (index, key) in members.keys.sorted().enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                appendString(key, to: &out)
                out.append(UInt8(ascii: ":"))
                guard append(members[key]!, to: &out) else { return false }
            }
            out.append(UInt8(ascii: "}"))
        }
        return true
    }

    /// RFC 8259 §7: quotation mark, reverse solidus and the control characters U+0000 to U+001F
    /// escaped, everything else as its UTF-8 bytes (the short forms where JSON has them).
    private static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x08: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "b")])
            case 0x0C: out.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "f")])
            case 0x00..<0x20:
                out.append(contentsOf: "\\u00".utf8)
                out.append(hexDigits[Int(byte >> 4)])
                out.append(hexDigits[Int(byte & 0x0F)])
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}
