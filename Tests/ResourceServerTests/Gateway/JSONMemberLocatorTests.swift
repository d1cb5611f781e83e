import Testing
@testable import ResourceServer

/// The byte-level id and token rewriting the stdio gateway relies on.
@Suite("JSON member locator")
struct JSONMemberLocatorTests {
    static func text(_ path: [String], _ json: String) -> String? {
        JSONMemberLocator.text(at: path, in: Array(json.utf8))
    }

    @Test("finds top-level and nested members, whatever precedes them")
    func findsMembers() {
        let json = #"{ "method" : "tools/call", "params": {"name":"a}\"b", "arguments":{"id":[1,{"x":"}"}]}, "_meta":{"progressToken": "t-1"}}, "id" : 12345678901234567890 }"#
        #expect(Self.text(["id"], json) == "12345678901234567890")
        #expect(Self.text(["params", "_meta", "progressToken"], json) == #""t-1""#)
        #expect(Self.text(["params", "name"], json) == #""a}\"b""#)
        #expect(Self.text(["params", "missing"], json) == nil)
        #expect(Self.text(["result"], json) == nil)
    }

    @Test("a duplicated key on the path is refused, since parsers disagree on which one wins")
    func refusesDuplicates() {
        #expect(Self.text(["id"], #"{"id":1,"method":"x","id":2}"#) == nil)
        #expect(Self.text(["params", "_meta", "progressToken"], #"{"params":{"_meta":{"progressToken":1}},"params":{}}"#) == nil)
        #expect(Self.text(["id"], #"{"params":{"id":1},"id":2}"#) == "2")
    }

    @Test("malformed input is not walked")
    func malformed() {
        #expect(Self.text(["id"], #"{"id":"#) == nil)
        #expect(Self.text(["id"], #"["id",1]"#) == nil)
        #expect(Self.text(["id"], #"{"a":"unterminated}"#) == nil)
    }

    @Test("replacing changes only the value's bytes")
    func replaces() throws {
        let json = Array(#"{"jsonrpc":"2.0", "id":"abc","result":{"x":1.50}}"#.utf8)
        let range = try #require(JSONMemberLocator.range(of: ["id"], in: json))
        let replaced = JSONMemberLocator.replacing(range, in: json, with: Array("7".utf8))
        #expect(String(decoding: replaced, as: UTF8.self) == #"{"jsonrpc":"2.0", "id":7,"result":{"x":1.50}}"#)
    }

    @Test("lines split on \\n only, long lines are dropped whole")
    func splitsLines() {
        var splitter = StdioLineSplitter(limit: 8)
        let chunks = ["ab\u{2028}c\nde", "f\r\n0123456789", "\nlast\n", "tail"]
        var lines: [String] = []
        for chunk in chunks {
            lines += Array(chunk.utf8).withUnsafeBytes { splitter.append($0) }.map { String(decoding: $0, as: UTF8.self) }
        }
        #expect(lines == ["ab\u{2028}c", "def", "last"])
        #expect(splitter.overflowed == 1)
        #expect(splitter.finish().map { String(decoding: $0, as: UTF8.self) } == "tail")
    }
}
