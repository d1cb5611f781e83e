import ArgumentParser
import Foundation
import Logging
import Shared
#if canImport(Glibc)
import Glibc
#endif

/// `clients create-resource-server`: the ResourceServer's own confidential client, with which it
/// exchanges its callers' tokens for upstream tokens (RFC 8693). `migrate` does the same when
/// `GATEHOUSE_RS_CLIENT_ID` and `GATEHOUSE_RS_CLIENT_SECRET_FILE` are set, the variables the
/// ResourceServer reads its credentials from.
extension ClientsCommand {
    struct CreateResourceServer: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-resource-server",
            abstract: "Create the ResourceServer's confidential client (token exchange), or give it a new secret.",
            discussion: """
                The secret is read from --secret-file; when that file does not exist, a fresh 256-bit secret is \
                written to it (mode 0600). Run again with another file to rotate the secret. The client \
                authenticates with HTTP Basic (client_secret_basic), may use only the token exchange grant and \
                has no redirect URIs. Give the ResourceServer the same id and file as GATEHOUSE_RS_CLIENT_ID and \
                GATEHOUSE_RS_CLIENT_SECRET_FILE. Needs DATABASE_URL.
                """)
        @Option(name: .customLong("id"), help: "The client_id.") var id: String = Client.defaultResourceServerID
        @Option(name: .customLong("secret-file"), help: "Where the client secret is read from, or written to.")
        var secretFile: String

        func validate() throws {
            guard Self.isValidID(id) else {
                throw ValidationError("--id must be 1 to 128 letters, digits or . _ - (and not a URL)")
            }
        }

        func run() async throws {
            let (id, secretFile) = (self.id, self.secretFile)
            let message = try await AdminRuntime.withDatabase(try AdminRuntime.databaseConfiguration()) { database, logger in
                try await Self.ensure(id: id, secretFile: secretFile, database: database, logger: logger)
            }
            print(message)
        }

        static func isValidID(_ id: String) -> Bool {
            (1...128).contains(id.utf8.count) && id.utf8.allSatisfy { byte in
                (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x2D || byte == 0x2E || byte == 0x5F
            }
        }

        /// `GATEHOUSE_RS_CLIENT_ID` and `GATEHOUSE_RS_CLIENT_SECRET_FILE`, for `migrate`: both or neither.
        static func fromEnvironment(_ env: Shared.Environment) throws -> (id: String, secretFile: String)? {
            let id = env.string("GATEHOUSE_RS_CLIENT_ID"), file = env.string("GATEHOUSE_RS_CLIENT_SECRET_FILE")
            switch (id, file) {
            case (nil, nil):
                return nil
            case (let id?, let file?):
                guard isValidID(id) else {
                    throw ConfigurationError("GATEHOUSE_RS_CLIENT_ID", "must be 1 to 128 letters, digits or . _ -")
                }
                return (id, file)
            case (nil, _):
                throw ConfigurationError("GATEHOUSE_RS_CLIENT_ID", "is required with GATEHOUSE_RS_CLIENT_SECRET_FILE")
            case (_, nil):
                throw ConfigurationError("GATEHOUSE_RS_CLIENT_SECRET_FILE", "is required with GATEHOUSE_RS_CLIENT_ID")
            }
        }

        /// Creates the client or sets its secret; what happened, for the operator. Shared with `migrate`.
        static func ensure(id: String, secretFile: String, database: Database, logger: Logger) async throws -> String {
            let secret: String, created: Bool
            do { (secret, created) = try SecretFile.readOrCreate(secretFile) } catch {
                AdminRuntime.printError(error.description)
                throw ExitCode.failure
            }
            let client = Client.resourceServer(id: id, secret: secret, now: Date())
            let outcome = try await ClientStore(database: database).upsertResourceServer(client)
            if case .taken(let kind) = outcome {
                AdminRuntime.printError("client_id \"\(id)\" belongs to a client of kind \(kind); choose another --id")
                throw ExitCode.failure
            }
            var detail = AdminRuntime.auditDetail
            detail["kind"] = Client.resourceServerKind
            detail["secret"] = created ? "generated" : "read from file"
            await AuditLog(database: database, logger: logger).record(.clientRegistered, clientID: id, detail: detail)
            let verb = outcome == .created ? "created" : "updated"
            let source = created ? "a new secret was written to" : "its secret is the one in"
            return "\(verb) resource-server client \(id); \(source) \(secretFile)"
        }
    }

    /// The client secret's file: read when it exists, otherwise created with a fresh secret,
    /// readable by its owner only and never overwritten.
    enum SecretFile {
        struct Problem: Error, CustomStringConvertible { let description: String }

        static func readOrCreate(_ path: String) throws(Problem) -> (secret: String, created: Bool) {
            if FileManager.default.fileExists(atPath: path) {
                guard let data = FileManager.default.contents(atPath: path) else { throw Problem(description: "cannot read \(path)") }
                let secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                guard secret.utf8.count >= Client.minimumResourceServerSecretLength,
                      secret.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7F }) else {
                    throw Problem(description: "\(path) must hold a secret of at least \(Client.minimumResourceServerSecretLength) printable ASCII characters")
                }
                return (secret, false)
            }
            let secret = SecureRandom.token()
            let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else { throw Problem(description: "cannot create \(path): \(String(cString: strerror(errno)))") }
            defer { close(descriptor) }
            let bytes = Array(secret.utf8)
            guard bytes.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) == bytes.count, fsync(descriptor) == 0 else {
                throw Problem(description: "cannot write \(path): \(String(cString: strerror(errno)))")
            }
            return (secret, true)
        }
    }
}
