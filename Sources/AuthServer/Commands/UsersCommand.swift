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
            or, with --password-stdin, from the first line of standard input. Needs DATABASE_URL.
            """,
        subcommands: [Create.self, List.self, Disable.self, Enable.self, SetPassword.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a user.",
            discussion: "Example: printf '%s\\n' \"$PASSWORD\" | AuthServer users create alice --password-stdin")

        @Argument(help: "The new user's name.") var username: String
        @Flag(help: "Read the password from the first line of standard input instead of prompting.")
        var passwordStdin = false

        func run() async throws {
            let config = try AdminRuntime.databaseConfiguration()
            let password = try PasswordInput.read(fromStdin: passwordStdin)
            let user = try await AdminRuntime.withDatabase(config) { database, logger in
                let user = try await UsersCommand.userStoreCall { try await UserStore(database: database).create(username: username, password: password) }
                await AuditLog(database: database, logger: logger)
                    .record(.userCreated, username: user.username, detail: AdminRuntime.auditDetail)
                return user
            }
            print("created user \(user.username) (\(user.id.uuidString.lowercased()))")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every user.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let users = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, _ in
                try await UserStore(database: database).list()
            }
            var table = OutputTable("USERNAME", "ID", "STATE", "CREATED")
            for user in users {
                table.append(user.username, user.id.uuidString.lowercased(), user.disabled ? "disabled" : "enabled",
                             OutputTable.format(user.createdAt))
            }
            table.print(json: output.json)
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Disable a user: they cannot sign in, and their tokens and sessions are revoked at once.")
        @Argument(help: "The user's name.") var username: String

        func run() async throws {
            try await UsersCommand.setDisabled(username, true)
            print("disabled user \(username.lowercased()); their tokens and sessions are revoked")
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
            abstract: "Set a user's password; their browser sessions end.")
        @Argument(help: "The user's name.") var username: String
        @Flag(help: "Read the password from the first line of standard input instead of prompting.")
        var passwordStdin = false

        func run() async throws {
            let config = try AdminRuntime.databaseConfiguration()
            let password = try PasswordInput.read(fromStdin: passwordStdin)
            try await AdminRuntime.withDatabase(config) { database, logger in
                let found = try await UsersCommand.userStoreCall {
                    try await UserStore(database: database).setPassword(username: username, password: password)
                }
                guard found else { throw UsersCommand.noSuchUser(username) }
                await AuditLog(database: database, logger: logger)
                    .record(.passwordChanged, username: username.lowercased(), detail: AdminRuntime.auditDetail)
            }
            print("changed the password of \(username.lowercased())")
        }
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
