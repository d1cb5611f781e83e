import ArgumentParser
import Foundation
import Shared

/// `--email`, `--name` and `--[no-]email-verified`, shared by `users create` and `users update`.
struct ProfileOptions: ParsableArguments {
    @Option(help: "Email address, sent to OpenID Connect clients granted the email scope (\"\" removes it).")
    var email: String?
    @Option(help: "Display name, sent to OpenID Connect clients granted the profile scope (\"\" removes it).")
    var name: String?
    @Flag(inversion: .prefixedNo,
          help: "Whether you vouch that the address is theirs (email_verified). A new address starts unverified.")
    var emailVerified: Bool?

    var profile: UserProfile { UserProfile(email: email, name: name, emailVerified: emailVerified) }
    var isEmpty: Bool { email == nil && name == nil && emailVerified == nil }
}

extension UsersCommand {
    struct Update: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set or remove a user's email address and display name.",
            discussion: "Example: AuthServer users update alice --email alice@example.com --email-verified --name \"Alice\"")
        @Argument(help: "The user's name.") var username: String
        @OptionGroup var profileOptions: ProfileOptions

        func run() async throws {
            guard !profileOptions.isEmpty else {
                AdminRuntime.printError("nothing to change: give --email, --name or --[no-]email-verified")
                throw ExitCode.failure
            }
            let profile = profileOptions.profile
            try UsersCommand.validate(profile)
            let user = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                let updated = try await UsersCommand.userStoreCall {
                    try await UserStore(database: database).update(username: username, profile: profile)
                }
                guard let updated else { throw UsersCommand.noSuchUser(username) }
                var detail = AdminRuntime.auditDetail
                detail["changed"] = [profile.email.map { _ in "email" }, profile.name.map { _ in "name" },
                                     profile.emailVerified.map { _ in "email_verified" }].compactMap { $0 }.joined(separator: ",")
                await AuditLog(database: database, logger: logger).record(.userUpdated, username: updated.username, detail: detail)
                return updated
            }
            print("updated user \(user.username): email \(user.email ?? "-")\(user.emailVerified ? " (verified)" : ""), "
                  + "name \(user.name ?? "-")")
        }
    }
}
