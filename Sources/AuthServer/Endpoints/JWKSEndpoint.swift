import Foundation
import Hummingbird
import NIOCore
import Shared

/// `GET /jwks.json`: every key a valid token may be signed with, plus the next one.
struct JWKSEndpoint: AuthServerEndpoint {
    let keys: SigningKeyStore
    /// Resource servers cache the set this long; a rotation publishes the new key earlier than that.
    static let maxAge = 300

    func addRoutes(to router: Router<AuthRequestContext>) {
        router.get("/jwks.json") { request, context in try await self.handle(request, context: context) }
    }

    func handle(_ request: Request, context: AuthRequestContext) async throws -> Response {
        let set = JWKS(keys: try await keys.publishedKeys(fresh: true))
        return JSONResponse.cacheable(bytes: ByteBuffer(bytes: try JSONResponse.encoder.encode(set)), maxAge: Self.maxAge)
    }
}
