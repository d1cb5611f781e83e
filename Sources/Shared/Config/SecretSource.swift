import Foundation

/// Where the config file says a secret is: `<name>_file` (the path of a file holding it) or
/// `<name>_env` (the name of an environment variable holding it), exactly one of the two.
/// Identity providers and connections use `client_secret_file` / `client_secret_env`,
/// pre-registered clients `secret_file` / `secret_env` (docs/configuration.md, docs/federation.md).
///
/// The file is parsed when the configuration is read; the secret itself is read later, by
/// `read(from:keys:entry:check:)`, when the server that needs it is built, so an admin command
/// that reads the configuration does not need the secret. A source holds no secret, and the
/// value `read` returns is never kept here: printing a source says where, never what.
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    /// `<name>_file:` the path of a file holding the secret.
    case file(String)
    /// `<name>_env:` the name of an environment variable holding the secret.
    case environment(String)

    /// The two keys of one pair, as they are spelled in the config file (product interface).
    public struct Keys: Sendable, Equatable {
        public let file: String
        public let environment: String

        /// `identity_providers:` and `connections:`.
        public static let clientSecret = Keys(file: "client_secret_file", environment: "client_secret_env")
        /// `clients:`.
        public static let secret = Keys(file: "secret_file", environment: "secret_env")

        /// The key `source` came from.
        public func key(of source: SecretSource) -> String {
            switch source {
            case .file: file
            case .environment: environment
            }
        }
    }

    public var description: String {
        switch self {
        case .file(let path): "<redacted> (from the file \(path))"
        case .environment(let name): "<redacted> (from the environment variable \(name))"
        }
    }

    // MARK: reading the secret

    /// The secret, read now: the file's contents without the whitespace and newlines around
    /// them, or the variable's value (`Environment.string`: trimmed, and a blank one is unset).
    /// Every problem names the key: `<entry>.<key>: cannot read <path>`, `…: <name> is not set`,
    /// or `…: <what check returns>` for a value the caller's rule refuses.
    ///
    /// - Parameter entry: `GATEHOUSE_CONFIG <file>: <key path of the entry>`.
    public func read(from environment: Environment, keys: Keys, entry: String,
                     check: (String) -> String?) throws -> String {
        func error(_ problem: String) -> ConfigurationError { ConfigurationError("\(entry).\(keys.key(of: self))", problem) }
        let secret: String
        switch self {
        case .file(let path):
            guard let data = FileManager.default.contents(atPath: path) else { throw error("cannot read \(path)") }
            secret = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        case .environment(let name):
            guard let value = environment.string(name) else { throw error("\(name) is not set") }
            secret = value
        }
        if let problem = check(secret) { throw error(problem) }
        return secret
    }

    /// Not empty, and every character printable ASCII other than the space (0x21 to 0x7E): what
    /// a client secret sent in a form or in HTTP Basic needs no escaping for.
    public static func isPrintableASCII(_ secret: String) -> Bool {
        !secret.isEmpty && secret.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F }
    }

    // MARK: parsing the pair

    /// The pair in an entry's `fields`, or nil when neither key is given. Both is an error at the
    /// second key (`use one of client_secret_file and client_secret_env`); an empty value is one
    /// at its key.
    static func parse(_ fields: [String: ConfigFileNode], keys: Keys) throws -> SecretSource? {
        guard let given = try given(in: fields, keys: keys) else { return nil }
        let value = try given.node.nonEmptyString()
        return given.key == keys.file ? .file(value) : .environment(value)
    }

    /// The pair in an entry's `fields`, which must have one of the keys: without either, an error
    /// at the entry, `needs <file key> or <environment key> <why>`.
    static func parse(_ fields: [String: ConfigFileNode], keys: Keys, in entry: ConfigFileNode,
                      otherwise why: String) throws -> SecretSource {
        guard let source = try parse(fields, keys: keys) else {
            throw entry.error("needs \(keys.file) or \(keys.environment) \(why)")
        }
        return source
    }

    /// The one key of the pair that `fields` has, and its node; nil for neither, an error for both.
    static func given(in fields: [String: ConfigFileNode], keys: Keys) throws -> (key: String, node: ConfigFileNode)? {
        switch (fields[keys.file], fields[keys.environment]) {
        case (.some, .some(let second)): throw second.error("use one of \(keys.file) and \(keys.environment)")
        case (.some(let file), nil): return (keys.file, file)
        case (nil, .some(let environment)): return (keys.environment, environment)
        case (nil, nil): return nil
        }
    }
}
