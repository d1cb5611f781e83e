import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The JSON answers of both services, in two kinds only, so that the caching rule is decided by
/// what a response carries and never by a header someone remembered to type.
public enum JSONResponse {
    /// Anything with a token, a secret or a person's data in it: RFC 6749 §5.1 "The authorization
    /// server MUST include the HTTP Cache-Control response header field with a value of no-store
    /// in any response containing tokens, credentials, or other sensitive information, as well
    /// as the Pragma response header field with a value of no-cache."
    public static func noStore(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        noStore(bytes: ByteBuffer(bytes: try encoder.encode(value)), status: status)
    }

    public static func noStore(bytes: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status,
                 headers: [.contentType: "application/json", .cacheControl: "no-store", .pragma: "no-cache"],
                 body: .init(byteBuffer: bytes))
    }

    /// A public document every client may cache (metadata, JWKS): `public, max-age`.
    public static func cacheable(bytes: ByteBuffer, maxAge: Int) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=\(maxAge)"],
                 body: .init(byteBuffer: bytes))
    }

    /// Sorted keys and unescaped slashes: the bytes are stable and URLs read as URLs.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
