import Foundation
import Testing
@testable import Shared

/// `FormBody.decode` answers what the Foundation calls it replaced answered (`+` to a space, then
/// `removingPercentEncoding`, the part as it was when that fails), for awkward parts and for
/// random ones built from the characters that matter.
@Suite("Form decoding")
struct FormBodyTests {
    /// The replaced code, with one Foundation quirk taken out: `removingPercentEncoding` refuses
    /// most bytes that are not UTF-8 (`%FF`, `%80`, `%C3`) but turns a lone `%A9` into U+FFFD.
    /// `decode` treats every byte sequence that is not UTF-8 alike: the part stays as it came.
    static func reference(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        guard let decoded = spaced.removingPercentEncoding, !decoded.contains("\u{FFFD}") || part.contains("\u{FFFD}") else {
            return spaced
        }
        return decoded
    }

    static let awkward: [String] = [
        "", "plain", "a+b", "+", "++", "%", "%2", "%2x", "%zz", "%41", "%4a%4A", "a%20b+c", "http%3A%2F%2F127.0.0.1%3A8000%2Fmcp",
        "%C3%A9", "%C3", "%C3%28", "%FF", "%E2%82%AC", "%F0%9F%99%82", "%00", "%0A%0d", "é", "日本", "🙂%20🙂", "%%41", "%4", "100%",
        "a%2Bb", "%2B+%2b", "%e2%82", "notes%3Aread+notes%3Awrite", "%41%zz%42", "x=y", "%3D%26", "%A9", "a%A9b",
    ]

    @Test("awkward parts: the same strings as the Foundation calls", arguments: awkward)
    func awkwardParts(_ part: String) {
        #expect(FormBody.decode(Substring(part)) == Self.reference(Substring(part)))
    }

    @Test("20,000 random parts over +, %, hex digits, UTF-8 and plain letters: the same strings")
    func randomParts() {
        let alphabet: [String] = ["+", "%", "%", "2", "0", "A", "f", "g", "z", "C3", "A9", "FF", "é", "🙂", "a", " ", "E2", "82", "AC"]
        var generator = SystemRandomNumberGenerator()
        var mismatches: [String] = []
        for _ in 0..<20_000 {
            let part = (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }.joined()
            if FormBody.decode(Substring(part)) != Self.reference(Substring(part)) { mismatches.append(part) }
        }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(10))")
    }

    @Test("a form: names and values decoded, repeats kept, empty pairs skipped")
    func form() throws {
        let form = FormBody(encoded: "grant_type=refresh_token&scope=notes%3Aread+notes%3Awrite&resource=a&resource=b&&flag&x%2By=1%2B1")
        #expect(try form.single("grant_type") == "refresh_token")
        #expect(try form.single("scope") == "notes:read notes:write")
        #expect(form.values["resource"] == ["a", "b"])
        #expect(form.values["flag"] == [""])
        #expect(try form.single("x+y") == "1+1")
        #expect(throws: OAuthError.self) { try form.single("resource") }
    }
}
