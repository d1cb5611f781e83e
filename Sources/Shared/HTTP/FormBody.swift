import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore

/// An `application/x-www-form-urlencoded` body (token, revocation, login and consent forms),
/// with repeated parameters kept so they can be refused (RFC 6749 §3.2: "Request and response
/// parameters MUST NOT be included more than once").
public struct FormBody: Sendable {
    public let values: [String: [String]]

    public static let maxBytes = 64 * 1024

    public init(request: Request, context: some RequestContext) async throws {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw OAuthError.invalidRequest("the body must be application/x-www-form-urlencoded")
        }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: Self.maxBytes) } catch {
            throw OAuthError.invalidRequest("the body is too large")
        }
        self.init(encoded: String(buffer: buffer))
    }

    /// The query of a request URI, read as the form it is. RFC 6749 §4.1.1: the client adds the
    /// parameters "to the query component of the authorization endpoint URI using the
    /// "application/x-www-form-urlencoded" format", so `+` is a space (Python's `urlencode` writes
    /// `scope=notes%3Aread+notes%3Awrite`) and names are percent-decoded like values. Hummingbird's
    /// `queryParameters` does neither (found while writing the FuzzForm harness, docs/testing.md "Fuzzing").
    public init(query uri: URI) {
        self.init(encoded: uri.query ?? "")
    }

    public init(encoded: String) {
        var values: [String: [String]] = [:]
        for pair in encoded.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(parts[0])
            let value = parts.count > 1 ? Self.decode(parts[1]) : ""
            values[name, default: []].append(value)
        }
        self.values = values
    }

    /// `+` as a space, then percent-decoded; a part whose `%` is not followed by two hex digits,
    /// or whose decoded bytes are not UTF-8, is kept as it is (with its `+` as spaces). That is
    /// what `replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? spaced` answered
    /// (`FormBodyTests` compares the two), except that Foundation turned a lone `%A9` into U+FFFD
    /// while refusing `%80` or `%FF`: here no byte that is not UTF-8 is ever decoded. It runs over
    /// the UTF-8 bytes in one pass
    /// because the Foundation calls were 3 % of the AuthServer's CPU in a refresh grant.
    static func decode(_ part: Substring) -> String {
        let bytes = part.utf8
        guard bytes.contains(where: { $0 == UInt8(ascii: "+") || $0 == UInt8(ascii: "%") }) else { return String(part) }
        var spaced: [UInt8] = []
        spaced.reserveCapacity(bytes.count)
        var decoded: [UInt8] = []
        decoded.reserveCapacity(bytes.count)
        var percentValid = true
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            if byte == UInt8(ascii: "+") {
                spaced.append(UInt8(ascii: " "))
                decoded.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), percentValid {
                let first = bytes.index(after: index)
                if first != bytes.endIndex, let high = hexValue(bytes[first]) {
                    let second = bytes.index(after: first)
                    if second != bytes.endIndex, let low = hexValue(bytes[second]) {
                        spaced.append(contentsOf: [byte, bytes[first], bytes[second]])
                        decoded.append(high << 4 | low)
                        index = bytes.index(after: second)
                        continue
                    }
                }
                percentValid = false
                spaced.append(byte)
            } else {
                spaced.append(byte)
                decoded.append(byte)
            }
            index = bytes.index(after: index)
        }
        if percentValid, let text = String(validating: decoded, as: UTF8.self) { return text }
        return String(decoding: spaced, as: UTF8.self)
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The single value of `name`, nil when absent; a repeated parameter is an error.
    public func single(_ name: String) throws(OAuthError) -> String? {
        guard let list = values[name] else { return nil }
        guard list.count == 1 else { throw .invalidRequest("\(name) must not be repeated") }
        return list[0].isEmpty ? nil : list[0]
    }

    public func required(_ name: String) throws(OAuthError) -> String {
        guard let value = try single(name) else { throw .invalidRequest("\(name) is required") }
        return value
    }
}
