import ArgumentParser
import Foundation
import Shared

struct UsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "users",
        abstract: "Manage the people who can sign in.",
        discussion: """
            Usernames are 1 to 64 characters of a-z, 0-9, '.', '_', '@' and '-', compared \
            lowercased. Passwords are never accepted as arguments: they are read from a prompt \
            or, with --password-stdin, from the first line of standard input. A user may have an \
            email address and a display name, which OpenID Connect clients receive with the email \
            and profile scopes (ID token and /userinfo). Needs DATABASE_URL.
            """,
        subcommands: [Create.self, Update.self, List.self, Disable.self, Enable.self, SetPassword.self, Grants.self, RevokeGrants.self,
                       Link.self, Links.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user.",
            discussion: """
                Example: printf '%s\\n' "$PASSWORD" | AuthServer users create alice --password-stdin \
                --email alice@example.com --name "Alice Liddell"

                With --update-existing, an existing user is not an error: their password is set \
                instead, exactly as by set-password (their sessions, codes and tokens are revoked \
                unless --keep-sessions), in the same transaction. For scripts that provision an \
                account with a known password on every run.
                """)

        @Argument(help: "The new user's name.") var username: String
        @Flag(help: "Read the password from the first line of standard input instead of prompting.")
        var passwordStdin = false
        @Flag(help: "If the user exists, set their password (like set-password) instead of failing.")
        var updateExisting = false
        @Flag(help: "With --update-existing: keep an existing user's sessions, codes and tokens valid.")
        var keepSessions = false
        @OptionGroup var profileOptions: ProfileOptions

        func validate() throws {
            if keepSessions && !updateExisting { throw ValidationError("--keep-sessions needs --update-existing") }
            // An existing user's profile is `users update`'s: one command, one kind of change.
            if updateExisting && !profileOptions.isEmpty {
                throw ValidationError("--update-existing sets only the password; change the profile with `users update`")
            }
        }

        func run() async throws {
            let config = try AdminRuntime.databaseConfiguration()
            let profile = profileOptions.profile
            try UsersCommand.validate(profile)
            let password = try PasswordInput.read(fromStdin: passwordStdin)
            if updateExisting {
                try await createOrSetPassword(config, password: password)
                return
            }
            let user = try await AdminRuntime.withDatabase(config) { database, logger in
                let user = try await UsersCommand.userStoreCall {
                    try await UserStore(database: database).create(username: username, password: password, profile: profile)
                }
                await AuditLog(database: database, logger: logger)
                    .record(.userCreated, username: user.username, detail: AdminRuntime.auditDetail)
                return user
            }
            print("created user \(user.username) (\(user.id.uuidString.lowercased()))")
        }

        /// `--update-existing`: audited and reported as `create`, or as `set-password` would be.
        private func createOrSetPassword(_ config: DatabaseConfiguration, password: String) async throws {
            let outcome = try await AdminRuntime.withDatabase(config) { database, logger in
                let outcome = try await UsersCommand.userStoreCall {
                    try await UserStore(database: database).createOrSetPassword(
                        username: username, password: password, keepSessions: keepSessions)
                }
                let audit = AuditLog(database: database, logger: logger)
                switch outcome {
                case .created(let user):
                    await audit.record(.userCreated, username: user.username, detail: AdminRuntime.auditDetail)
                case .passwordSet(let name):
                    await audit.record(.passwordChanged, username: name, detail: AdminRuntime.auditDetail.merging(
                        ["revoked": keepSessions ? "false" : "true"]) { $1 })
                }
                return outcome
            }
            switch outcome {
            case .created(let user): print("created user \(user.username) (\(user.id.uuidString.lowercased()))")
            case .passwordSet(let name): print(UsersCommand.passwordChanged(name, keepSessions: keepSessions))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every user.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let users = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await UserStore(database: database).list()
            }
            var table = OutputTable("USERNAME", "ID", "STATE", "CREATED", "EMAIL", "EMAIL_VERIFIED", "NAME")
            for user in users {
                table.append(user.username, user.id.uuidString.lowercased(), user.disabled ? "disabled" : "enabled",
                             OutputTable.format(user.createdAt), user.email,
                             user.email == nil ? nil : (user.emailVerified ? "yes" : "no"), user.name)
            }
            table.print(json: output.json)
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: they cannot sign in, and their tokens and sessions are revoked at once.",
            discussion: """
                Their connections to third-party APIs are deleted in the same transaction; then each \
                connection of GATEHOUSE_CONFIG with a revocation_endpoint has the tokens revoked \
                there (RFC 7009), which needs the servers' key-encryption key (GATEHOUSE_KEK_FILE or \
                GATEHOUSE_KEK). A provider that cannot be reached, or a missing key, is a warning \
                on standard error and in the audit log; the user is disabled either way.
                """)
        @Argument(help: "The user's name.") var username: String

        func run() async throws {
            let reports = try await UsersCommand.disable(username)
            print("disabled user \(username.lowercased()); their tokens, codes and sessions are revoked")
            // Connections (issue 12): deleted with the disable; a provider that did not revoke is a warning, on stderr.
            for report in reports {
                if report.isWarning { FileHandle.standardError.write(Data((report.line + "\n").utf8)) } else { print(report.line) }
            }
        }
    }

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Enable a disabled user again (revoked tokens stay revoked).")
        @Argument(help: "The user's name.") var username: String

        func run() async throws {
            try await UsersCommand.setDisabled(username, false)
            print("enabled user \(username.lowercased())")
        }
    }

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a user's password; their sessions, codes and tokens are revoked at once.",
            discussion: """
                A new password usually follows a suspected compromise, so by default everything the \
                user holds ends with the old password: browser sessions, authorization codes not yet \
                exchanged, and every token family (resource servers refuse the access tokens within \
                a second). --keep-sessions changes only the password.
                """)
        @Argument(help: "The user's name.") var username: String
        @Flag(help: "Read the password from the first line of standard input instead of prompting.")
        var passwordStdin = false
        @Flag(help: "Keep the user's sessions, codes and tokens valid (a routine change, not a compromise).")
        var keepSessions = false

        func run() async throws {
            let config = try AdminRuntime.databaseConfiguration()
            let password = try PasswordInput.read(fromStdin: passwordStdin)
            try await AdminRuntime.withDatabase(config) { database, logger in
                let found = try await UsersCommand.userStoreCall {
                    try await UserStore(database: database).setPassword(
                        username: username, password: password, keepSessions: keepSessions)
                }
                guard found else { throw UsersCommand.noSuchUser(username) }
                await AuditLog(database: database, logger: logger).record(
                    .passwordChanged, username: username.lowercased(),
                    detail: AdminRuntime.auditDetail.merging(["revoked": keepSessions ? "false" : "true"]) { $1 })
            }
            print(UsersCommand.passwordChanged(username.lowercased(), keepSessions: keepSessions))
        }
    }

    static func passwordChanged(_ username: String, keepSessions: Bool) -> String {
        keepSessions
            ? "changed the password of \(username); sessions and tokens are kept"
            : "changed the password of \(username); their tokens, codes and sessions are revoked"
    }

    private static func setDisabled(_ username: String, _ disabled: Bool) async throws {
        try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
            guard try await UserStore(database: database).setDisabled(username, disabled) else {
                throw noSuchUser(username)
            }
            await AuditLog(database: database, logger: logger).record(
                disabled ? .userDisabled : .userEnabled, username: username.lowercased(), detail: AdminRuntime.auditDetail)
        }
    }

    /// Checked before any prompt or connection, so a typo costs no password entry.
    static func validate(_ profile: UserProfile) throws {
        do {
            _ = try profile.email.map(UserProfile.validatedEmail)
            _ = try profile.name.map(UserProfile.validatedName)
        } catch {
            AdminRuntime.printError(error.description)
            throw ExitCode.failure
        }
    }

    /// Validation problems are the operator's to fix: print them plainly, without a stack of types.
    static func userStoreCall<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as UserStoreError {
            AdminRuntime.printError(error.description)
            throw ExitCode.failure
        }
    }

    static func noSuchUser(_ username: String) -> ExitCode {
        AdminRuntime.printError("no user named \"\(username.lowercased())\"")
        return ExitCode.failure
    }
}
