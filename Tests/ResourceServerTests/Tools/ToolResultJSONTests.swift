import Foundation
import MCP
import Testing
@testable import ResourceServer

/// `ToolResultJSON` writes what `JSONEncoder` would: the bytes for a `Value` (the text block),
/// the same JSON for a whole `CallTool.Result`, and nil (so the caller falls back to
/// `JSONEncoder`) for every shape it does not write.
@Suite("Tool results written without JSONEncoder")
struct ToolResultJSONTests {
    /// Every control character, the two characters JSON always escapes, a slash (not escaped:
    /// `.withoutEscapingSlashes`), non-ASCII text and an emoji.
    static let awkwardStrings: [String] = [
        "", "plain", "quote \" and backslash \\", "a/b</script>", "tab\tnew\nline\rreturn", "é, ß, 日本語, 🙂",
        String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }), "\u{7F}\u{2028}\u{2029}", "data:text/plain,hello",
    ]

    static let values: [Value] = awkwardStrings.map(Value.string) + [
        .null, .bool(true), .bool(false), .int(0), .int(-42), .int(Int.max), .int(Int.min),
        .array([]), .object([:]),
        .object(["subject": .string("d2f5"), "client_id": .string("https://chatgpt.com/x"), "scopes": .array([.string("notes:read")])]),
        .object(["b": .int(1), "a": .object(["z": .null, "y": .array([.bool(true), .string("\u{1}")])]), "B": .string("upper sorts first")]),
        .object(Dictionary(uniqueKeysWithValues: awkwardStrings.enumerated().map { ("\($0.element)\($0.offset)", Value.int($0.offset)) })),
    ]

    static let sortedEncoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    @Test("a Value: the same bytes as JSONEncoder with sortedKeys and withoutEscapingSlashes", arguments: values)
    func valueBytes(_ value: Value) throws {
        let written = try #require(ToolResultJSON.encode(value))
        #expect(String(decoding: written, as: UTF8.self) == String(decoding: try Self.sortedEncoder.encode(value), as: UTF8.self))
    }

    @Test("a double or data anywhere: nil, for JSONEncoder to write")
    func fallsBackForDoublesAndData() {
        #expect(ToolResultJSON.encode(Value.double(1.5)) == nil)
        #expect(ToolResultJSON.encode(Value.object(["a": .array([.int(1), .double(2)])])) == nil)
        #expect(ToolResultJSON.encode(Value.data(mimeType: "text/plain", Data("x".utf8))) == nil)
        let result = CallTool.Result(content: [.text(text: "t", annotations: nil, _meta: nil)],
                                     structuredContent: Optional<Value>.some(.double(0.1)), isError: false)
        #expect(ToolResultJSON.encode(result) == nil)
    }

    @Test("a CallTool.Result: the JSON JSONEncoder writes for it (text blocks, structured content, isError)")
    func resultJSON() throws {
        let results: [CallTool.Result] = [
            try ToolResult.json(Value.object(["subject": .string("s"), "scopes": .array([.string("a"), .string("b")])])),
            ToolResult.error("no note with id 7"),
            CallTool.Result(content: [.text(text: "one", annotations: nil, _meta: nil), .text(text: "two \"2\"", annotations: nil, _meta: nil)]),
            CallTool.Result(content: [], structuredContent: Optional<Value>.some(.array([])), isError: nil),
        ]
        for result in results {
            let written = try #require(ToolResultJSON.encode(result))
            let viaEncoder = try Self.sortedEncoder.encode(result)
            // Member order is JSONEncoder's business; the JSON is the same.
            let ours = try JSONSerialization.jsonObject(with: Data(written)) as? NSDictionary
            let theirs = try JSONSerialization.jsonObject(with: viaEncoder) as? NSDictionary
            #expect(ours == theirs, "\(String(decoding: written, as: UTF8.self))")
            // And the SDK reads it back as the same result.
            #expect(try JSONDecoder().decode(CallTool.Result.self, from: Data(written)) == result)
        }
    }

    @Test("content that is not a plain text block, or a result with _meta: nil")
    func fallsBackForOtherContent() {
        let image = CallTool.Result(content: [.image(data: "AAAA", mimeType: "image/png", annotations: nil, _meta: nil)])
        #expect(ToolResultJSON.encode(image) == nil)
        let annotated = CallTool.Result(content: [.text(text: "t", annotations: .init(audience: [.user]), _meta: nil)])
        #expect(ToolResultJSON.encode(annotated) == nil)
    }
}
