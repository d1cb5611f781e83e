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

    private static func decode(_ part: Substring) -> String {
        let spaced = part.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
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
