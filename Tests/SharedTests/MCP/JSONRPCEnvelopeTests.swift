import Foundation
import Shared
import Testing

/// `JSONRPCEnvelope.parse` refuses what RFC 8259 refuses. Found by the FuzzJSONRPC harness
/// (docs/testing.md "Fuzzing"): `JSONDecoder` accepted raw control characters and invalid UTF-8
/// inside strings.
@Suite struct JSONRPCEnvelopeTests {
    @Test("RFC 8259 §7, §8.1: a raw control character or invalid UTF-8 in a string is a parse error; escaped it is fine")
    func rawControlCharactersAreRefused() throws {
        for raw in ["\u{0}", "\u{1}", "\n", "\t", "\u{1F}"] {
            let body = Data(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes_add\#(raw)"}}"#.utf8)
            #expect(throws: (any Error).self, "\(raw.debugDescription)") { try JSONRPCEnvelope.parse(body) }
            do { _ = try JSONRPCEnvelope.parse(body) } catch { #expect(error.code == -32700) }
        }
        var invalidUTF8 = Data(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"notes"#.utf8)
        invalidUTF8.append(contentsOf: [0x8B, 0x22, 0x7D, 0x7D])
        do { _ = try JSONRPCEnvelope.parse(invalidUTF8); Issue.record("accepted invalid UTF-8") } catch { #expect(error.code == -32700) }
        let badNumber = Data(#"{"jsonrpc":"2.0","id":5,"error":{"code":2316-0,"message":"no"}}"#.utf8)
        do { _ = try JSONRPCEnvelope.parse(badNumber); Issue.record("accepted 2316-0") } catch { #expect(error.code == -32700) }
        let escaped = try JSONRPCEnvelope.parse(Data(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\u0000\n\"b\\"}}"#.utf8))
        #expect(escaped.toolName == "a\u{0}\n\"b\\")
        let spaced = try JSONRPCEnvelope.parse(Data("{\n\t\"jsonrpc\": \"2.0\",\r\n \"method\": \"notifications/initialized\"}".utf8))
        #expect(spaced.method == "notifications/initialized")
    }

    @Test("RFC 8259 §4: a member name twice in one object, at any depth and however escaped, is -32600; the same name in two objects is fine")
    func repeatedMembersAreRefused() throws {
        let repeated = [
            #"{"jsonrpc":"2.0","id":1,"method":"tools/c","params":{},"method":"tools/call"}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"notes_add"}}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","m\u0065thod":"tools/list"}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"a":[{"k":1,"k":2}]}}}"#,
        ]
        for body in repeated {
            do { _ = try JSONRPCEnvelope.parse(Data(body.utf8)); Issue.record("accepted \(body)") } catch { #expect(error.code == -32600, "\(body)") }
        }
        let distinct = try JSONRPCEnvelope.parse(Data(#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"name":"{\"name\":1}","list":[{"name":1},{"name":2}]}}}"#.utf8))
        #expect(distinct.toolName == "x")
    }
}
