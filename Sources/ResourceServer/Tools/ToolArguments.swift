import Foundation
import MCP

/// A tool's `arguments`, read with checks that produce a message the model can act on.
struct ToolArguments: Sendable {
    let values: [String: Value]

    init(_ values: [String: Value]?) {
        self.values = values ?? [:]
    }

    func string(_ name: String, maxLength: Int) throws(ToolArgumentError) -> String {
        guard let value = values[name] else { throw ToolArgumentError("missing required argument \"\(name)\"") }
        guard let text = value.stringValue else { throw ToolArgumentError("\"\(name)\" must be a string") }
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { throw ToolArgumentError("\"\(name)\" must not be empty") }
        guard text.count <= maxLength else {
            throw ToolArgumentError("\"\(name)\" is longer than \(maxLength) characters")
        }
        // PostgreSQL's text cannot hold U+0000 ("invalid byte sequence for encoding UTF8: 0x00"):
        // refused here as the caller's mistake, not a failed tool (found probing with NULs, docs/testing.md).
        guard !text.unicodeScalars.contains("\u{0}") else {
            throw ToolArgumentError("\"\(name)\" must not contain NUL characters")
        }
        return text
    }

    func integer(_ name: String) throws(ToolArgumentError) -> Int {
        guard let value = values[name] else { throw ToolArgumentError("missing required argument \"\(name)\"") }
        if let number = value.intValue { return number }
        // Some clients send integers as 3.0 or "3".
        if let double = value.doubleValue, let number = Int(exactly: double) { return number }
        if let text = value.stringValue, let number = Int(text) { return number }
        throw ToolArgumentError("\"\(name)\" must be an integer")
    }

    /// Rejects arguments the schema does not declare, so typos are reported instead of ignored.
    func onlyAllow(_ names: Set<String>) throws(ToolArgumentError) {
        let unknown = Set(values.keys).subtracting(names).sorted()
        guard unknown.isEmpty else { throw ToolArgumentError("unknown argument(s): \(unknown.joined(separator: ", "))") }
    }
}

/// Bad tool input. MCP tools (2025-11-25): input validation errors are reported "in the result
/// object" with `isError: true`, so the model can see the message and correct itself.
struct ToolArgumentError: Error, CustomStringConvertible, Sendable {
    let description: String
    init(_ description: String) { self.description = description }
}
