import Foundation
import HTTPTypes
import Hummingbird

/// Extracts the access token from a request, accepting only the Authorization header.
///
/// RFC 6750 §2.1: `Authorization: Bearer b64token`. MCP authorization (2025-06-18, Token
/// Requirements): "Access tokens MUST NOT be included in the URI query string", and RFC 6750 §2:
/// "Clients MUST NOT use more than one method to transmit the token in each request." So a token in
/// the query string (RFC 6750 §2.3 `access_token`) is refused rather than used.
enum BearerToken {
    static func extract(from request: Request) -> Result<String, TokenRejection> {
        if request.uri.queryParameters["access_token"] != nil {
            return .failure(.invalidRequest("access tokens are accepted only in the Authorization header"))
        }
        let values = request.headers[values: .authorization]
        guard let header = values.first else { return .failure(.missing) }
        guard values.count == 1 else { return .failure(.invalidRequest("more than one Authorization header")) }
        // The scheme is case-insensitive (RFC 9110 §11.1); anything other than Bearer means "no bearer token".
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return .failure(.missing) }
        let token = parts[1].trimmingCharacters(in: .whitespaces)
        // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
        guard !token.isEmpty, token.utf8.allSatisfy(isToken68) else {
            return .failure(.invalidToken(.malformed("not a bearer token")))
        }
        return .success(token)
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
