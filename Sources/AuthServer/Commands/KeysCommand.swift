import ArgumentParser
import Foundation
import Logging
import Shared

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Inspect, rotate and retire the RS256 token-signing keys.",
        discussion: """
            Keys are stored in the database, sealed with the key-encryption key, so these \
            commands need DATABASE_URL and GATEHOUSE_KEK_FILE or GATEHOUSE_KEK (the same key the \
            servers use), plus GATEHOUSE_SIGNING_KEY_BITS and GATEHOUSE_ACCESS_TOKEN_TTL if set.
            """,
        subcommands: [List.self, Rotate.self, Retire.self, Reseal.self])

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the signing keys and their state.",
            discussion: """
                pending: published, not signing yet. active: signing. retired: no longer signing, \
                still published until its tokens expire. unpublished: no longer in the JWKS.
                """)
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let config = try AdminRuntime.configuration { try AuthServerConfiguration(environment: Shared.Environment()) }
            let records = try await AdminRuntime.withDatabase(config.database) { database, logger in
                try await KeysCommand.store(config, database, logger).allRecords()
            }
            let now = Date()
            var table = OutputTable("KID", "CREATED", "SIGNS_FROM", "RETIRED", "UNPUBLISH_AFTER", "STATE")
            for key in records {
                table.append(key.kid, OutputTable.format(key.createdAt), OutputTable.format(key.signsFrom),
                             OutputTable.format(key.retiredAt), OutputTable.format(key.unpublishAfter),
                             KeysCommand.state(of: key, at: now))
            }
            table.print(json: output.json)
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a new signing key and retire the current one.",
            discussion: """
                By default the new key is published now and starts signing after \
                --prepublish-seconds, so resource servers have fetched it before they see a token \
                signed with it. Use --immediately after a key compromise (then also consider \
                revoking tokens). The retired key stays published until its last token expires.
                """)

        @Flag(help: "Start signing with the new key at once instead of after the pre-publication delay.")
        var immediately = false
        @Option(help: "Seconds between publishing the new key and signing with it; should exceed the resource servers' JWKS cache time.")
        var prepublishSeconds = KeysCommand.defaultPrepublishSeconds

        func validate() throws {
            guard (0...86_400).contains(prepublishSeconds) else {
                throw ValidationError("--prepublish-seconds must be between 0 and 86400")
            }
        }

        func run() async throws {
            let config = try AdminRuntime.configuration { try AuthServerConfiguration(environment: Shared.Environment()) }
            let (immediately, prepublish) = (self.immediately, self.prepublishSeconds)
            let kid = try await AdminRuntime.withDatabase(config.database) { database, logger in
                let store = KeysCommand.store(config, database, logger, prepublishSeconds: prepublish)
                // With no key at all, rotating would leave nothing signing until the new key's
                // start; create the first key (active at once) before adding its successor.
                try await store.bootstrap()
                let kid = try await store.rotate(immediately: immediately)
                await AuditLog(database: database, logger: logger).record(
                    .keyRotated, detail: AdminRuntime.auditDetail.merging(
                        ["kid": kid, "immediately": String(immediately)], uniquingKeysWith: { $1 }))
                return kid
            }
            print(immediately ? "new signing key \(kid) is active now"
                              : "new signing key \(kid) is published and starts signing in \(prepublish) s")
        }
    }

    /// As long as resource servers may cache the JWKS (its max-age), so all have the key first.
    static let defaultPrepublishSeconds = JWKSEndpoint.maxAge

    static func store(_ config: AuthServerConfiguration, _ database: Database, _ logger: Logger,
                      prepublishSeconds: Int = defaultPrepublishSeconds) -> SigningKeyStore {
        SigningKeyStore(database: database, kek: config.keyEncryptionKey, bits: config.signingKeyBits,
                        accessTokenLifetime: config.accessTokenLifetime, prepublishSeconds: prepublishSeconds,
                        clock: .system, logger: logger)
    }

    static func state(of key: SigningKeyRecord, at now: Date) -> String {
        if let unpublishAfter = key.unpublishAfter, unpublishAfter <= now { return "unpublished" }
        if let retiredAt = key.retiredAt, retiredAt <= now { return "retired" }
        return key.signsFrom > now ? "pending" : "active"
    }
}
