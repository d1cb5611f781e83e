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
///
/// The id also carries what the gateway learned about the client at `initialize` (`Features`:
/// whether it declared URL-mode elicitation), under the same MAC, so a later request on any
/// replica knows it without asking anyone, and no client can claim a feature it did not declare
/// at the start of its session. Format v2 (sealed since issue 12): `<upstream id>.<base64url(
/// features byte ‖ MAC)>` (44 characters after the dot); v1 ids (`<upstream id>.<base64url(MAC)>`,
/// 43 characters) still verify, as a session with no features.
final class GatewaySessionBinding: Sendable {
    /// What the client declared at `initialize`, one bit each.
    struct Features: OptionSet, Sendable, Hashable {
        let rawValue: UInt8
        /// MCP 2025-11-25 (Client: Elicitation): `capabilities.elicitation.url` was present.
        static let urlElicitation = Features(rawValue: 1)
    }

    /// A presented id that verified: the upstream's own id and the features sealed with it.
    struct Session: Sendable, Equatable {
        let upstreamID: String
        let features: Features
    }


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

    /// The id the client receives for the upstream's `upstreamID`, carrying `features` (v2).
    func seal(_ upstreamID: String, resource: String, subject: String, features: Features = []) async throws -> String {
        let mac = Self.mac(key: try await key(), upstreamID: upstreamID, resource: resource, subject: subject, features: features)
        return upstreamID + "." + Base64URL.encode([features.rawValue] + mac)
    }

    /// The upstream's id if `presented` was sealed for this resource and subject, else nil.
    func open(_ presented: String, resource: String, subject: String) async throws -> String? {
        try await session(presented, resource: resource, subject: subject)?.upstreamID
    }

    /// The upstream's id and the sealed features if `presented` was sealed for this resource and
    /// subject, else nil. A v1 id (no features byte) verifies under the v1 MAC, with no features.
    func session(_ presented: String, resource: String, subject: String) async throws -> Session? {
        guard let dot = presented.lastIndex(of: ".") else { return nil }
        let upstreamID = String(presented[..<dot])
        guard !upstreamID.isEmpty, let sealed = Base64URL.decode(String(presented[presented.index(after: dot)...])) else {
            return nil
        }
        let key = try await key()
        switch sealed.count {
        case Self.macLength:
            let expected = Self.mac(key: key, upstreamID: upstreamID, resource: resource, subject: subject)
            return constantTimeEquals(sealed, expected) ? Session(upstreamID: upstreamID, features: []) : nil
        case Self.macLength + 1:
            let features = Features(rawValue: sealed[0])
            let expected = Self.mac(key: key, upstreamID: upstreamID, resource: resource, subject: subject, features: features)
            return constantTimeEquals(Array(sealed.dropFirst()), expected) ? Session(upstreamID: upstreamID, features: features) : nil
        default:
            return nil
        }
    }

    /// HMAC-SHA-256.
    static let macLength = 32

    /// v1: the ids sealed before features existed (still verified, never sealed any more).
    static func mac(key: [UInt8], upstreamID: String, resource: String, subject: String) -> [UInt8] {
        Digest.hmacSHA256(key: key, message: message("gatehouse-mcp-session-v1", upstreamID: upstreamID, resource: resource,
                                                     subject: subject))
    }

    /// v2: a different label, and the features byte after the fields.
    static func mac(key: [UInt8], upstreamID: String, resource: String, subject: String, features: Features) -> [UInt8] {
        Digest.hmacSHA256(key: key, message: message("gatehouse-mcp-session-v2", upstreamID: upstreamID, resource: resource,
                                                     subject: subject) + [features.rawValue])
    }

    /// Length-prefixed fields, so no choice of subject or id can collide with another triple.
    private static func message(_ label: String, upstreamID: String, resource: String, subject: String) -> [UInt8] {
        var message = Array(label.utf8)
        for field in [resource, subject, upstreamID] {
            let bytes = Array(field.utf8)
            let count = UInt32(bytes.count)
            message += [UInt8(count >> 24), UInt8((count >> 16) & 0xff), UInt8((count >> 8) & 0xff), UInt8(count & 0xff)]
            message += bytes
        }
        return message
    }
}
