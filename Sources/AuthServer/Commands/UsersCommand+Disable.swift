import ArgumentParser
import Foundation
import Shared

extension UsersCommand {
    /// `users disable`: everything the user holds ends in one transaction (UserStore+Revocation),
    /// their connections deleted with it; then each deleted connection whose provider has a
    /// `revocation_endpoint` is revoked there (issue 12: "deleted when the user … is disabled (and
    /// revoked at the provider when it has a revocation endpoint)"). The provider comes after the
    /// commit, so one that is down, slow or refusing never stops or delays the disable: it is
    /// printed as a warning and audited, and the tokens are gone from Gatehouse either way.
    static func disable(_ username: String) async throws -> [ConnectionRevocationReport] {
        let database = try AdminRuntime.databaseConfiguration()
        let revoker = DisabledUserRevoker.fromEnvironment()
        return try await AdminRuntime.withDatabase(database) { database, logger in
            guard let change = try await UserStore(database: database).changeDisabled(username, true) else {
                throw noSuchUser(username)
            }
            let audit = AuditLog(database: database, logger: logger)
            await audit.record(.userDisabled, username: username.lowercased(), detail: AdminRuntime.auditDetail)
            var reports: [ConnectionRevocationReport] = []
            for removed in change.removedConnections {
                let report = await revoker.revoke(removed, userID: change.userID)
                await audit.record(.connectionRemoved, outcome: report.isWarning ? .failure : .success, username: username.lowercased(),
                                   detail: AdminRuntime.auditDetail.merging([
                                       "connection": removed.connectionID, "reason": "user disabled", "revoked": report.audited,
                                   ]) { $1 })
                reports.append(report)
            }
            return reports
        }
    }
}

/// What happened to one deleted connection at its provider. Holds no token.
struct ConnectionRevocationReport: Sendable, Equatable {
    let connectionID: String
    /// `true`, `no endpoint`, or why not (`unreachable: …`, `HTTP 503`, `no key-encryption key`, …).
    let audited: String
    let isWarning: Bool

    /// One line for the operator.
    var line: String {
        switch audited {
        case "true": return "connection \(connectionID): deleted and revoked at the provider"
        case "no endpoint": return "connection \(connectionID): deleted (it has no revocation_endpoint)"
        default: return "warning: connection \(connectionID): deleted, but not revoked at the provider (\(audited))"
        }
    }
}

/// Revokes a disabled user's deleted connection tokens at their providers (RFC 7009 §2.1): the
/// refresh token first, which "SHOULD" also end the access tokens issued with it, then the
/// access token. It needs what the servers have: the connections of `GATEHOUSE_CONFIG` with
/// their client secrets, and the key-encryption key to open the tokens. Whatever of that is
/// missing only turns into a warning (`problem`): the disable has already happened.
struct DisabledUserRevoker: Sendable {
    let clients: [String: ConnectionTokenClient]
    let seal: ConnectionTokenSeal?
    /// Why the connections or the key could not be read, when that matters.
    let problem: String?

    static func fromEnvironment() -> DisabledUserRevoker {
        do {
            return try GatehouseConfigFile.reading(Shared.Environment()) { environment, file in
                let settings = try ConnectionSettings(file: file, environment: environment)
                let clients = settings.clients(clock: .system)
                guard settings.connections.contains(where: { $0.revocationEndpoint != nil }) else {
                    return DisabledUserRevoker(clients: clients, seal: nil, problem: nil)
                }
                do {
                    return DisabledUserRevoker(clients: clients, seal: ConnectionTokenSeal(kek: try Self.keyEncryptionKey(environment)),
                                               problem: nil)
                } catch let error as ConfigurationError {
                    return DisabledUserRevoker(clients: clients, seal: nil, problem: error.description)
                }
            }
        } catch {
            return DisabledUserRevoker(clients: [:], seal: nil, problem: String(describing: error))
        }
    }

    /// `GATEHOUSE_KEK_FILE` or `GATEHOUSE_KEK`, as the servers read it.
    static func keyEncryptionKey(_ environment: Shared.Environment) throws -> KeyEncryptionKey {
        if let file = environment.string("GATEHOUSE_KEK_FILE") {
            do { return try KeyEncryptionKey(contentsOfFile: file) } catch {
                throw ConfigurationError("GATEHOUSE_KEK_FILE", "cannot read a base64-encoded 32-byte key from \(file)")
            }
        }
        if let value = environment.string("GATEHOUSE_KEK") {
            do { return try KeyEncryptionKey(base64: value) } catch {
                throw ConfigurationError("GATEHOUSE_KEK", "is not a base64-encoded 32-byte key")
            }
        }
        throw ConfigurationError("GATEHOUSE_KEK_FILE", "is not set: the tokens cannot be opened to revoke them")
    }

    func revoke(_ removed: UserConnectionStore.Removed, userID: UUID) async -> ConnectionRevocationReport {
        let id = removed.connectionID
        func warning(_ why: String) -> ConnectionRevocationReport { .init(connectionID: id, audited: why, isWarning: true) }
        guard let client = clients[id] else {
            if let problem { return warning(problem) }
            return warning("it is no longer in the connections of GATEHOUSE_CONFIG")
        }
        guard client.connection.revocationEndpoint != nil else { return .init(connectionID: id, audited: "no endpoint", isWarning: false) }
        guard let seal else { return warning(problem ?? "no key-encryption key") }
        guard let tokens = removed.tokens(userID: userID, seal: seal) else {
            return warning("the tokens do not open with the configured key-encryption key")
        }
        var outcomes: [ConnectionTokenClient.RevocationOutcome] = []
        if let refresh = tokens.refreshToken { outcomes.append(await client.revocation(refresh, hint: "refresh_token")) }
        outcomes.append(await client.revocation(tokens.accessToken, hint: "access_token"))
        for outcome in outcomes {
            switch outcome {
            case .revoked, .notConfigured: continue
            case .refused(let status): return warning("the provider answered HTTP \(status)")
            case .failed(let reason): return warning(reason)
            }
        }
        return .init(connectionID: id, audited: "true", isWarning: false)
    }
}
