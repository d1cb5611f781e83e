import Foundation
import PostgresNIO
import Shared

/// Why `keys reseal` changed nothing. Descriptions are shown to the operator as they are.
enum KeyResealError: Error, Equatable, CustomStringConvertible {
    case sameKey(fingerprint: String)
    case sealedUnderAnotherKey(kid: String, fingerprint: String, old: String, new: String)
    case doesNotOpen(kid: String, fingerprint: String)

    var description: String {
        switch self {
        case .sameKey(let fingerprint):
            return "the old and the new key-encryption key are the same (\(fingerprint)): nothing to do"
        case .sealedUnderAnotherKey(let kid, let fingerprint, let old, let new):
            return "signing key \(kid) is sealed with key-encryption key \(fingerprint), which is neither the old key "
                + "(\(old), --old-kek-file) nor the new one (\(new), GATEHOUSE_KEK / GATEHOUSE_KEK_FILE); nothing was changed"
        case .doesNotOpen(let kid, let fingerprint):
            return "signing key \(kid) does not open with key-encryption key \(fingerprint) (altered or corrupt); nothing was changed"
        }
    }
}

/// What `reseal` did.
struct KeyResealOutcome: Sendable, Equatable {
    /// Keys moved from the old key-encryption key to the new one.
    var resealed: [String] = []
    /// Keys that were already sealed under the new key (a repeated run).
    var alreadyCurrent: [String] = []
    /// Users' connection tokens (`user_connections`, issue 12), in the same transaction.
    var connections = UserConnectionStore.ResealCount()
    /// PKCE verifiers of connects in flight (`connection_states`), in the same transaction.
    var connectionStates = UserConnectionStore.ResealCount()
    /// PKCE verifiers of federated sign-ins in flight (`federated_logins`), in the same transaction.
    var federatedLogins = UserConnectionStore.ResealCount()
}

extension SigningKeyStore {
    /// Re-seals every signing key's private half from `old` to `new`, in one transaction under
    /// the keys' advisory lock (so no rotation interleaves), or changes nothing at all: every key
    /// must open under `old` — or, after an earlier run, under `new` — before any row is
    /// written. The public halves, and so the JWKS and every token in circulation, stay as
    /// they are; only the sealing changes. The kid stays bound as associated data.
    ///
    /// Everything else sealed under the KEK moves in the same transaction, or it would be
    /// unreadable once the old KEK is retired: users' connection tokens and the PKCE verifiers of
    /// connects and federated sign-ins in flight (issue 12).
    static func reseal(in database: Database, from old: KeyEncryptionKey, to new: KeyEncryptionKey,
                       now: Date = Date()) async throws -> KeyResealOutcome {
        guard old.fingerprint != new.fingerprint else { throw KeyResealError.sameKey(fingerprint: new.fingerprint) }
        return try await database.transaction { connection in
            _ = try await connection.query("SELECT pg_advisory_xact_lock(\(lockKey))", logger: connection.logger)
            let rows = try await connection.query(
                "SELECT kid, private_key_sealed, kek_fingerprint FROM signing_keys ORDER BY signs_from, kid FOR UPDATE",
                logger: connection.logger)
            var sealed: [SealedKeyRow] = []
            for try await row in rows { sealed.append(try SealedKeyRow(columns: row.columns)) }
            var outcome = KeyResealOutcome()
            var updates: [(kid: String, sealed: [UInt8])] = []
            for key in sealed {
                let from: KeyEncryptionKey
                switch key.fingerprint {
                case new.fingerprint: from = new
                case old.fingerprint: from = old
                default:
                    throw KeyResealError.sealedUnderAnotherKey(kid: key.kid, fingerprint: key.fingerprint,
                                                               old: old.fingerprint, new: new.fingerprint)
                }
                let der: [UInt8]
                do { der = try from.open(key.sealed, associatedData: Array(key.kid.utf8)) } catch {
                    throw KeyResealError.doesNotOpen(kid: key.kid, fingerprint: from.fingerprint)
                }
                if key.fingerprint == new.fingerprint {
                    outcome.alreadyCurrent.append(key.kid)
                } else {
                    updates.append((key.kid, try new.seal(der, associatedData: Array(key.kid.utf8))))
                }
            }
            for update in updates {
                _ = try await connection.query("""
                    UPDATE signing_keys SET private_key_sealed = \(ByteBuffer(bytes: update.sealed)), kek_fingerprint = \(new.fingerprint)
                    WHERE kid = \(update.kid)
                    """, logger: connection.logger)
                outcome.resealed.append(update.kid)
            }
            outcome.connections = try await UserConnectionStore.reseal(from: old, to: new, connection: connection)
            outcome.connectionStates = try await ConnectionStateStore.reseal(from: old, to: new, now: now, connection: connection)
            outcome.federatedLogins = try await FederatedLoginStore.reseal(from: old, to: new, now: now, connection: connection)
            return outcome
        }
    }
}
