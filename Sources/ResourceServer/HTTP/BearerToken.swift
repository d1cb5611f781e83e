import Foundation
import HTTPTypes
import Hummingbird

/// Extracts the access token from a request, accepting only the Authorization header.
///
/// RFC 6750 §2.1: `Authorization: Bearer b64token`. MCP authorization (2025-06-18, Token
/// Requirements): "Access tokens MUST NOT be included in the URI query string", and RFC 6750 §2:
/// "Clients MUST NOT use more than one method to transmit the token in each request." So a token in
/// the query string (RFC 6750 §2.3 `access_token`) is never used. Alone it is an unsupported
/// method, answered as if no token had been sent (RFC 6750 §3.1: "If the request lacks any
/// authentication information (e.g., the client was unaware that authentication is necessary or
/// attempted using an unsupported authentication method), the resource server SHOULD NOT include
/// an error code"), so the client gets the 401 challenge that starts OAuth. Beside an
/// Authorization header it is two methods at once: 400 `invalid_request` (§3.1: "uses more than
/// one method for including an access token").
enum BearerToken {
    static func extract(from request: Request) -> Result<String, TokenRejection> {
        var headers = request.headers[fields: .authorization].makeIterator()
        let first = headers.next()
        if let query = request.uri.query, Self.carriesToken(query) {
            guard first == nil else {
                return .failure(.invalidRequest("send the access token in the Authorization header only, not also in the query"))
            }
            return .failure(.missing)
        }
        guard var header = first?.value else { return .failure(.missing) }
        guard headers.next() == nil else { return .failure(.invalidRequest("more than one Authorization header")) }
        // Works on the header's UTF-8 bytes: this runs on every request.
        return header.withUTF8 { bytes in
            // The scheme is case-insensitive (RFC 9110 §11.1); anything other than Bearer means "no bearer token".
            let scheme = Self.scheme
            guard bytes.count > scheme.count,
                  zip(bytes.prefix(scheme.count), scheme).allSatisfy({ $0 | 0x20 == $1 || $0 == $1 })
            else { return .failure(.missing) }
            let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
            guard let first = bytes[scheme.count...].firstIndex(where: { !isBlank($0) }),
                  let last = bytes.lastIndex(where: { !isBlank($0) })
            else { return .failure(.missing) }
            let token = UnsafeBufferPointer(rebasing: bytes[first...last])
            // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
            guard token.allSatisfy(isToken68) else { return .failure(.invalidToken(.malformed("not a bearer token"))) }
            return .success(String(decoding: token, as: UTF8.self))
        }
    }

    private static let scheme = Array("bearer ".utf8)

    /// True when the query has an `access_token` parameter, its name percent-encoded or not
    /// (`%61ccess_token`). Parsed only when it could hold one: this runs on every request.
    static func carriesToken(_ query: String) -> Bool {
        guard query.contains("access_token") || query.contains("%") else { return false }
        return query.split(separator: "&").contains { parameter in
            let name = parameter.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0]
            return (String(name).removingPercentEncoding ?? String(name)) == "access_token"
        }
    }

    private static func isToken68(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
             UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "/"), UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }
}

extension Substring {
    /// Spaces and tabs trimmed from both ends, working on UTF-8 bytes: Foundation's
    /// `trimmingCharacters(in:)` bridges through UTF-16 and was a fifth of the CPU time of an
    /// authenticated request with an 800-byte token.
    var trimmingASCIIWhitespace: Substring {
        let isBlank = { (byte: UInt8) in byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }
        guard let first = utf8.firstIndex(where: { !isBlank($0) }), let last = utf8.lastIndex(where: { !isBlank($0) })
        else { return "" }
        return self[first...last]
    }
}
