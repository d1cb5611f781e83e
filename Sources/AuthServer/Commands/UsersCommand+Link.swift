import ArgumentParser
import Foundation
import Shared

extension UsersCommand {
    /// `users link`: an existing user signs in through a provider (issue 12). The link is by the
    /// provider's subject (OIDC `sub`, GitHub's numeric user id), never by e-mail address, and an
    /// operator's link admits the person whatever the provider's `allow` rules say.
    struct Link: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Link a user to an identity at an upstream identity provider.",
            discussion: """
                Example: AuthServer users link alice --provider corp --subject 248289761001

                After this, signing in with the provider as that subject signs in as the user, \
                even when no allow rule of the provider matches. A link the first sign-in made \
                for the same identity is replaced. The subject is the provider's `sub` claim \
                (OpenID Connect) or the numeric user id (GitHub: https://api.github.com/users/<login>). \
                With --remove, the link is deleted instead.
                """)

        @Argument(help: "The user's name.") var username: String
        @Option(help: "The identity provider's id (identity_providers[].id in GATEHOUSE_CONFIG).") var provider: String
        @Option(help: "The person's subject at the provider.") var subject: String
        @Flag(help: "Remove the link instead of making it.") var remove = false

        func validate() throws {
            guard IdentityProviderConfiguration.isValidID(provider) else { throw ValidationError("--provider: not a provider id") }
            guard !subject.isEmpty, subject.utf8.count <= 255 else { throw ValidationError("--subject: 1 to 255 bytes") }
        }

        func run() async throws {
            let config = try AdminRuntime.databaseConfiguration()
            let configured = try AdminRuntime.configuration {
                try GatehouseConfigFile.load(from: Shared.Environment())?.identityProviders.map(\.id)
            }
            if let configured, !configured.contains(provider) {
                AdminRuntime.printError("warning: \(provider) is not in the GATEHOUSE_CONFIG file's identity_providers (\(configured.joined(separator: ", ")))")
            }
            let message = try await AdminRuntime.withDatabase(config) { database, logger in
                let store = UserIdentityStore(database: database, noPasswordHash: UserStore(database: database).dummyHash)
                let audit = AuditLog(database: database, logger: logger)
                let detail = AdminRuntime.auditDetail.merging(["provider": provider, "subject": String(subject.prefix(64))]) { a, _ in a }
                if remove {
                    guard try await store.unlink(providerID: provider, subject: subject) else {
                        AdminRuntime.printError("no link of \(provider) subject \(subject)")
                        throw ExitCode.failure
                    }
                    await audit.record(.identityUnlinked, username: username.lowercased(), detail: detail)
                    return "removed the link of \(provider) subject \(subject)"
                }
                switch try await store.link(username: username, providerID: provider, subject: subject, now: Date()) {
                case .noSuchUser: throw UsersCommand.noSuchUser(username)
                case .alreadyLinked(let name): return "\(provider) subject \(subject) was already linked to \(name)"
                case .linked(let user):
                    await audit.record(.identityLinked, username: user.username, detail: detail)
                    return "linked \(provider) subject \(subject) to \(user.username)"
                }
            }
            print(message)
        }
    }

    /// `users links`: who signs in through which provider.
    struct Links: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the links between users and upstream identity providers.")
        @Argument(help: "Only this user's links.") var username: String?
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let links = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await UserIdentityStore(database: database, noPasswordHash: "").list(username: username)
            }
            var table = OutputTable("USERNAME", "PROVIDER", "SUBJECT", "EMAIL", "NAME", "LINKED_BY", "LINKED", "LAST_SIGN_IN")
            for link in links {
                table.append(link.username, link.providerID, link.subject, link.email, link.name, link.linkedBy,
                             OutputTable.format(link.linkedAt), OutputTable.format(link.lastSignInAt))
            }
            table.print(json: output.json)
        }
    }
}
