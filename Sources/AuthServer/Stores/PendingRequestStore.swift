import Foundation
import NIOCore
import PostgresNIO
import Shared

/// Authorization requests waiting for login and consent. Each is bound to the browser that
/// started it (a cookie whose hash is stored) and carries its own CSRF token, so a form posted
/// from anywhere else, or for a request another browser started, is refused.
struct PendingRequestStore: Sendable {
    static let lifetime: TimeInterval = 600

    struct Pending: Sendable {
        let id: String
        let request: AuthorizationRequest
        let csrfToken: String
    }

    let database: Database

    /// Stores the request and returns its id, its CSRF token and the browser-binding secret
    /// (to be set as a cookie).
    func create(_ request: AuthorizationRequest, now: Date) async throws -> (Pending, browserBinding: String) {
        let id = SecureRandom.token()
        let binding = SecureRandom.token()
        let csrf = SecureRandom.token()
        let json = String(decoding: try JSONEncoder().encode(request), as: UTF8.self)
        _ = try await database.query("""
            INSERT INTO authorization_requests (id_hash, client_id, parameters, browser_binding_hash, csrf_token, expires_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(id))), \(request.clientID), \(json)::jsonb,
                    \(ByteBuffer(bytes: Digest.sha256(binding))), \(csrf), \(now.addingTimeInterval(Self.lifetime)))
            """)
        return (Pending(id: id, request: request, csrfToken: csrf), binding)
    }

    /// The request, if it exists, has not expired and belongs to this browser.
    func find(id: String, browserBinding: String?, now: Date) async throws -> Pending? {
        guard let browserBinding, id.count <= 100 else { return nil }
        let rows = try await database.query("""
            SELECT parameters::text AS parameters, browser_binding_hash, csrf_token FROM authorization_requests
            WHERE id_hash = \(ByteBuffer(bytes: Digest.sha256(id))) AND expires_at > \(now)
            """)
        guard let row = rows.first else { return nil }
        let columns = row.columns
        let bindingHash: ByteBuffer = try columns["browser_binding_hash"]
        guard constantTimeEquals(Array(buffer: bindingHash), Digest.sha256(browserBinding)) else { return nil }
        let json: String = try columns["parameters"]
        let request = try JSONDecoder().decode(AuthorizationRequest.self, from: Data(json.utf8))
        return Pending(id: id, request: request, csrfToken: try columns["csrf_token"])
    }

    /// A request is used once: deleting it returns whether it was still there.
    func consume(id: String, connection: PostgresConnection) async throws -> Bool {
        let rows = try await connection.query(
            "DELETE FROM authorization_requests WHERE id_hash = \(ByteBuffer(bytes: Digest.sha256(id))) RETURNING client_id",
            logger: connection.logger)
        for try await _ in rows { return true }
        return false
    }
}
