import NIOConcurrencyHelpers
import Shared

/// Binds an upstream's `Mcp-Session-Id` to the user who created it, statelessly.
///
/// MCP transports (2025-11-25, Session Management): the session id "SHOULD be globally unique and
/// cryptographically secure", and servers "SHOULD bind session IDs to user-specific information".
/// The upstream cannot do that (it never sees who the caller is unless told), so the gateway does:
/// the client is handed `<upstream id>.<MAC>` where the MAC is HMAC-SHA-256, under a key shared by
/// every replica through PostgreSQL (`gateway_session_keys`), over (resource, subject, upstream id).
/// Any replica can check a presented id without a session table or sticky routing; a session id
/// presented by another user, for another resource, or altered in any way does not verify and is
/// answered like an unknown session (404), so it reveals nothing.
final class GatewaySessionBinding: Sendable {
    private let store: GatewaySessionKeyStore?
    private let loaded = NIOLockedValueBox<[UInt8]?>(nil)

    init(store: GatewaySessionKeyStore) {
        self.store = store
    }

    /// A fixed key (tests, and callers that already loaded it).
    init(key: [UInt8]) {
        self.store = nil
        loaded.withLockedValue { $0 = key }
    }

    /// Loads the shared key once; the builder calls this at start-up, before the port opens, and
    /// `key()` falls back to it if a request arrives first.
    func load() async throws {
        _ = try await key()
    }

    /// The key could not be read from the database (answer 503).
    struct KeyUnavailable: Error {
        let underlying: any Error
    }

    private func key() async throws(KeyUnavailable) -> [UInt8] {
        if let key = loaded.withLockedValue({ $0 }) { return key }
        guard let store else { throw KeyUnavailable(underlying: GatewaySessionKeyStoreError.missing) }
        do {
            let key = try await store.loadOrCreate()
            loaded.withLockedValue { $0 = key }
            return key
        } catch {
            throw KeyUnavailable(underlying: error)
        }
    }

    /// The id the client receives for the upstream's `upstreamID`.
    func seal(_ upstreamID: String, resource: String, subject: String) async throws -> String {
        let mac = Self.mac(key: try await key(), upstreamID: upstreamID, resource: resource, subject: subject)
        return upstreamID + "." + Base64URL.encode(mac)
    }

    /// The upstream's id if `presented` was sealed for this resource and subject, else nil.
    func open(_ presented: String, resource: String, subject: String) async throws -> String? {
        guard let dot = presented.lastIndex(of: ".") else { return nil }
        let upstreamID = String(presented[..<dot])
        guard !upstreamID.isEmpty, let mac = Base64URL.decode(String(presented[presented.index(after: dot)...])) else {
            return nil
        }
        let expected = Self.mac(key: try await key(), upstreamID: upstreamID, resource: resource, subject: subject)
        return constantTimeEquals(mac, expected) ? upstreamID : nil
    }

    /// Length-prefixed fields, so no choice of subject or id can collide with another triple.
    static func mac(key: [UInt8], upstreamID: String, resource: String, subject: String) -> [UInt8] {
        var message = Array("gatehouse-mcp-session-v1".utf8)
        for field in [resource, subject, upstreamID] {
            let bytes = Array(field.utf8)
            let count = UInt32(bytes.count)
            message += [UInt8(count >> 24), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)]
            message += bytes
        }
        return Digest.hmacSHA256(key: key, message: message)
    }
}
