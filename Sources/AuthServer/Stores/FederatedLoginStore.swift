import Foundation
import NIOCore
import PostgresNIO
import Shared

/// Upstream authorization requests in flight (`federated_logins`): one row per press of a
/// "Sign in with …" button, found again by the SHA-256 of its `state` when the provider sends
/// the browser back, and deleted then (single-use).
///
/// The row binds the `state` to the pending Gatehouse authorization request it continues and to
/// the browser that pressed the button (the SHA-256 of a random `gh_federation` cookie), so a
/// callback that arrives in another browser, or whose `state` belongs to another pending request,
/// is refused: the confused-deputy attack of GHSA-rww4-4w9c-7733.
///
/// A sign-in started from the account page (`POST /account/login/<id>`) has no pending request:
/// its row carries `Continuation.account` instead (stored as the `request_id` `account`, which no
/// request id, 43 random characters, can be), and the callback then goes back to `/account`.
struct FederatedLoginStore: Sendable {
    static let lifetime: TimeInterval = 600

    /// Where a sign-in continues once the provider has said who the person is.
    enum Continuation: Sendable, Equatable {
        /// The pending authorization request with this id: on to consent, as after a password.
        case authorization(requestID: String)
        /// The account page's own sign-in: a session, then `/account`.
        case account

        static let accountRequestID = "account"

        init(requestID: String) {
            self = requestID == Self.accountRequestID ? .account : .authorization(requestID: requestID)
        }

        var requestID: String {
            switch self {
            case .authorization(let requestID): requestID
            case .account: Self.accountRequestID
            }
        }
    }

    struct Started: Sendable {
        let state: String
        let nonce: String
        let codeVerifier: String
        /// The cookie value that binds the sign-in to this browser.
        let browserBinding: String

        /// RFC 7636 §4.2: `BASE64URL-ENCODE(SHA256(ASCII(code_verifier)))`.
        var codeChallenge: String { Base64URL.encode(Digest.sha256(codeVerifier)) }
    }

    struct InFlight: Sendable, Equatable {
        let providerID: String
        let continuation: Continuation
        let browserBindingHash: [UInt8]
        let nonce: String
        let codeVerifier: String
    }

    let database: Database

    func start(providerID: String, continuation: Continuation, now: Date) async throws -> Started {
        // RFC 7636 §4.1: a verifier of 43 to 128 characters; 32 random bytes give 43.
        let started = Started(state: SecureRandom.token(), nonce: SecureRandom.token(), codeVerifier: SecureRandom.token(),
                              browserBinding: SecureRandom.token())
        _ = try await database.query("""
            INSERT INTO federated_logins (state_hash, provider_id, request_id, browser_binding_hash, nonce, code_verifier,
                                          created_at, expires_at)
            VALUES (\(ByteBuffer(bytes: Digest.sha256(started.state))), \(providerID), \(continuation.requestID),
                    \(ByteBuffer(bytes: Digest.sha256(started.browserBinding))), \(started.nonce), \(started.codeVerifier),
                    \(now), \(now.addingTimeInterval(Self.lifetime)))
            """)
        return started
    }

    /// The sign-in `state` names, removed so it cannot be used twice; nil when unknown or expired.
    func consume(state: String, now: Date) async throws -> InFlight? {
        guard !state.isEmpty, state.utf8.count <= 200 else { return nil }
        let rows = try await database.query("""
            DELETE FROM federated_logins WHERE state_hash = \(ByteBuffer(bytes: Digest.sha256(state)))
            RETURNING provider_id, request_id, browser_binding_hash, nonce, code_verifier, expires_at > \(now) AS live
            """)
        guard let row = rows.first else { return nil }
        let columns = row.columns
        let live: Bool = try columns["live"]
        guard live else { return nil }
        let binding: ByteBuffer = try columns["browser_binding_hash"]
        return InFlight(providerID: try columns["provider_id"], continuation: Continuation(requestID: try columns["request_id"]),
                        browserBindingHash: Array(buffer: binding), nonce: try columns["nonce"],
                        codeVerifier: try columns["code_verifier"])
    }
}
