import ArgumentParser
import Foundation
import Shared

extension KeysCommand {
    /// `keys reseal --old-kek-file F`: the key-encryption-key rotation. The new KEK is the one
    /// configured (GATEHOUSE_KEK_FILE or GATEHOUSE_KEK), exactly as the servers will read it
    /// after the change, so the command cannot seal under a key the servers will not have.
    struct Reseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every signing key under a new key-encryption key.",
            discussion: """
                Set GATEHOUSE_KEK_FILE (or GATEHOUSE_KEK) to the NEW key-encryption key and pass \
                the current one with --old-kek-file. Every signing key is opened with the old key \
                and sealed again with the new one, in one transaction: if any key does not open, \
                nothing changes. Users' connection tokens and the PKCE verifiers of connects and \
                federated sign-ins in flight are re-sealed in the same transaction. Running it \
                again after a success changes nothing. Then restart \
                every AuthServer replica with the new key; one started with the old key refuses \
                to start. The public keys, the JWKS and every token issued stay valid. See \
                docs/operations.md, "Rotating the key-encryption key".
                """)

        @Option(help: "File holding the key-encryption key the signing keys are sealed with now (base64, like GATEHOUSE_KEK_FILE).")
        var oldKekFile: String

        func run() async throws {
            let config = try AdminRuntime.configuration { try AuthServerConfiguration(environment: Shared.Environment()) }
            let path = oldKekFile
            let old = try AdminRuntime.configuration {
                do { return try KeyEncryptionKey(contentsOfFile: path) } catch let KeyEncryptionError.invalidKey(problem) {
                    throw ConfigurationError("--old-kek-file", problem)
                }
            }
            let new = config.keyEncryptionKey
            let outcome = try await AdminRuntime.withDatabase(config.database) { database, logger in
                let outcome = try await SigningKeyStore.reseal(in: database, from: old, to: new)
                await AuditLog(database: database, logger: logger).record(
                    .keysResealed, detail: AdminRuntime.auditDetail.merging([
                        "old_kek": old.fingerprint, "new_kek": new.fingerprint, "resealed": String(outcome.resealed.count),
                        "connections_resealed": String(outcome.connections.resealed),
                        "connection_states_resealed": String(outcome.connectionStates.resealed),
                        "federated_logins_resealed": String(outcome.federatedLogins.resealed),
                    ], uniquingKeysWith: { $1 }))
                return outcome
            }
            print("resealed \(outcome.resealed.count) signing key(s) from key-encryption key \(old.fingerprint) "
                + "to \(new.fingerprint); \(outcome.alreadyCurrent.count) already were")
            print(Self.line("connection token row(s)", outcome.connections))
            print(Self.line("connect(s) in flight", outcome.connectionStates))
            print(Self.line("federated sign-in(s) in flight", outcome.federatedLogins))
        }

        /// `resealed 3 connection token row(s); 1 already were`, plus the rows that open under neither key.
        static func line(_ what: String, _ count: UserConnectionStore.ResealCount) -> String {
            "resealed \(count.resealed) \(what); \(count.alreadyCurrent) already were"
                + (count.unreadable == 0 ? "" : "; \(count.unreadable) open under neither key and were left (they read as broken)")
        }
    }
}
