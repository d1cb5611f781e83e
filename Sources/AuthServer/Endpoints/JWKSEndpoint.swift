import Foundation
import Hummingbird
import NIOCore
import Shared

/// `GET /jwks.json`: every key a valid token may be signed with, plus the next one.
struct JWKSEndpoint: Sendable {
    let keys: SigningKeyStore
    /// Resource servers cache the set this long; a rotation publishes the new key earlier than that.
    static let maxAge = 300

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let set = JWKS(keys: try await keys.publishedKeys(fresh: true))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Response(status: .ok,
                        headers: [.contentType: "application/json", .cacheControl: "public, max-age=\(Self.maxAge)"],
                        body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(set))))
    }
}
