import ArgumentParser
import Foundation
import Shared

extension KeysCommand {
    /// `AuthServer keys retire <kid> [--immediately]`: the key-compromise procedure (docs/operations.md).
    struct Retire: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop signing with a key now; with --immediately, also stop every token it signed.",
            discussion: """
                The key stops signing at once on this replica (other AuthServer replicas follow \
                within 10 s). If no other key would sign, a pending key starts signing now, or a new \
                key is created that signs now, so retiring the only key is allowed. Without \
                --immediately the key stays in the JWKS until its tokens expire. With --immediately \
                (the key may be compromised) it leaves the JWKS now and every resource server \
                refuses the tokens it signed within a second, cached ones included.
                """)

        @Argument(help: "The kid of the key to retire (see `keys list`).")
        var kid: String
        @Flag(help: "Unpublish the key now and make resource servers refuse every token it signed.")
        var immediately = false

        func run() async throws {
            let config = try AdminRuntime.configuration { try AuthServerConfiguration(environment: Shared.Environment()) }
            let (kid, immediately) = (self.kid, self.immediately)
            let retirement = try await AdminRuntime.withDatabase(config.database) { database, logger in
                let store = KeysCommand.store(config, database, logger)
                let retirement = try await store.retire(kid: kid, immediately: immediately)
                var detail = ["kid": kid, "immediately": String(immediately)]
                if let successor = retirement.successor { detail["successor"] = successor }
                await AuditLog(database: database, logger: logger).record(
                    .keyRetired, detail: AdminRuntime.auditDetail.merging(detail, uniquingKeysWith: { $1 }))
                return retirement
            }
            print(immediately ? "signing key \(kid) is retired and unpublished; resource servers refuse its tokens"
                              : "signing key \(kid) no longer signs; it stays published until its tokens expire")
            if let successor = retirement.successor { print("signing key \(successor) signs from now on") }
        }
    }
}
