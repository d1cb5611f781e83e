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
///
/// Nothing secret is kept in plain (migration 16): the PKCE verifier is sealed under the
/// key-encryption key with the `state` hash as associated data, and the `nonce` is not stored but
/// derived from the `state` (`nonce(for:)`), which the callback brings back and of which only the
/// SHA-256 is stored. A database reader can neither redeem an intercepted code (RFC 7636 §1: the
/// verifier is what "the attacker … does not have") nor learn a nonce to put in an ID token.
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
    /// Seals the PKCE verifier (`GATEHOUSE_KEK`, the key of the signing keys and connection tokens).
    let kek: KeyEncryptionKey

    /// OpenID Connect Core §15.5.2: "The nonce parameter value needs to include per-session state
    /// and be unguessable to attackers", for example "a cryptographic hash of" a random value kept
    /// by the client. Here `BASE64URL(SHA-256("gatehouse-federation-nonce-v1" NUL state))`: the
    /// state is 32 random bytes, single-use and bound to the browser, so the nonce is unique to
    /// this sign-in and unguessable before it; the prefix keeps it apart from the stored
    /// `SHA-256(state)`, from which it cannot be computed.
    static func nonce(for state: String) -> String {
        Base64URL.encode(Digest.sha256("gatehouse-federation-nonce-v1\u{0}" + state))
    }

    /// `gatehouse-federated-login-v1 NUL code_verifier NUL` + SHA-256(state): a sealed verifier opens only in its own row.
    static func associatedData(stateHash: [UInt8]) -> [UInt8] {
        Array("gatehouse-federated-login-v1\u{0}code_verifier\u{0}".utf8) + stateHash
    }

    func start(providerID: String, continuation: Continuation, now: Date) async throws -> Started {
        // RFC 7636 §4.1: a verifier of 43 to 128 characters; 32 random bytes give 43.
        let state = SecureRandom.token()
        let started = Started(state: state, nonce: Self.nonce(for: state), codeVerifier: SecureRandom.token(),
                              browserBinding: SecureRandom.token())
        let stateHash = Digest.sha256(started.state)
        let sealed = try kek.seal(Array(started.codeVerifier.utf8), associatedData: Self.associatedData(stateHash: stateHash))
        _ = try await database.query("""
            INSERT INTO federated_logins (state_hash, provider_id, request_id, browser_binding_hash, code_verifier_sealed,
                                          created_at, expires_at)
            VALUES (\(ByteBuffer(bytes: stateHash)), \(providerID), \(continuation.requestID),
                    \(ByteBuffer(bytes: Digest.sha256(started.browserBinding))), \(ByteBuffer(bytes: sealed)),
                    \(now), \(now.addingTimeInterval(Self.lifetime)))
            """)
        return started
    }

    /// The sign-in `state` names, removed so it cannot be used twice; nil when unknown or expired.
    func consume(state: String, now: Date) async throws -> InFlight? {
        guard !state.isEmpty, state.utf8.count <= 200 else { return nil }
        let stateHash = Digest.sha256(state)
        let rows = try await database.query("""
            DELETE FROM federated_logins WHERE state_hash = \(ByteBuffer(bytes: stateHash))
            RETURNING provider_id, request_id, browser_binding_hash, nonce, code_verifier, code_verifier_sealed,
                      expires_at > \(now) AS live
            """)
        guard let row = rows.first else { return nil }
        let columns = row.columns
        let live: Bool = try columns["live"]
        guard live else { return nil }
        let binding: ByteBuffer = try columns["browser_binding_hash"]
        let sealed: ByteBuffer? = try columns["code_verifier_sealed"]
        // A row of the previous release (migration 16) still has them in plain.
        let plainNonce: String? = try columns["nonce"]
        let plainVerifier: String? = try columns["code_verifier"]
        let verifier: String
        if let sealed {
            // Another KEK (a reseal that missed this row) or a moved value: the sign-in cannot finish.
            guard let opened = try? kek.open(Array(buffer: sealed), associatedData: Self.associatedData(stateHash: stateHash)) else {
                return nil
            }
            verifier = String(decoding: opened, as: UTF8.self)
        } else if let plainVerifier {
            verifier = plainVerifier
        } else {
            return nil
        }
        return InFlight(providerID: try columns["provider_id"], continuation: Continuation(requestID: try columns["request_id"]),
                        browserBindingHash: Array(buffer: binding), nonce: plainNonce ?? Self.nonce(for: state),
                        codeVerifier: verifier)
    }

    /// `keys reseal`: the sealed verifier of every sign-in in flight opened under `old` and sealed
    /// under `new`, in the caller's transaction; expired rows are deleted instead. One that opens
    /// under neither key is left (its callback fails, as it would have).
    static func reseal(from old: KeyEncryptionKey, to new: KeyEncryptionKey, now: Date,
                       connection: PostgresConnection) async throws -> UserConnectionStore.ResealCount {
        _ = try await connection.query("DELETE FROM federated_logins WHERE expires_at < \(now)", logger: connection.logger)
        let rows = try await connection.query("""
            SELECT state_hash, code_verifier_sealed FROM federated_logins
            WHERE code_verifier_sealed IS NOT NULL ORDER BY state_hash FOR UPDATE
            """, logger: connection.logger)
        var sealed: [(stateHash: [UInt8], verifier: [UInt8])] = []
        for try await row in rows {
            let (hash, verifier) = try row.decode((ByteBuffer, ByteBuffer).self)
            sealed.append((Array(buffer: hash), Array(buffer: verifier)))
        }
        var count = UserConnectionStore.ResealCount()
        for row in sealed {
            let associatedData = associatedData(stateHash: row.stateHash)
            if (try? new.open(row.verifier, associatedData: associatedData)) != nil {
                count.alreadyCurrent += 1
                continue
            }
            guard let verifier = try? old.open(row.verifier, associatedData: associatedData) else {
                count.unreadable += 1
                continue
            }
            let resealed = ByteBuffer(bytes: try new.seal(verifier, associatedData: associatedData))
            _ = try await connection.query("""
                UPDATE federated_logins SET code_verifier_sealed = \(resealed) WHERE state_hash = \(ByteBuffer(bytes: row.stateHash))
                """, logger: connection.logger)
            count.resealed += 1
        }
        return count
    }
}
