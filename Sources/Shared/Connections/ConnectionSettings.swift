import Foundation

/// The config file's connections as both services use them, each with its client secret read
/// (from `client_secret_file` or `client_secret_env`) once, at start-up; a missing secret stops
/// start-up naming the key. Empty without a file or without `connections:`.
public struct ConnectionSettings: Sendable, CustomStringConvertible {
    /// In the file's order.
    public let connections: [ConnectionConfiguration]
    /// Connection id → client secret (absent for a public client).
    private let secrets: [String: String]

    public static let empty = ConnectionSettings(connections: [], secrets: [:])

    public init(connections: [ConnectionConfiguration], secrets: [String: String]) {
        self.connections = connections
        self.secrets = secrets
    }

    public init(file: GatehouseConfigFile?, environment: Environment) throws {
        var secrets: [String: String] = [:]
        let connections = file?.connections ?? []
        for connection in connections {
            let entry = "\(GatehouseConfigFile.variable) \(file?.path ?? ""): \(connection.keyPath)"
            secrets[connection.id] = try connection.secret?.read(from: environment, keys: .clientSecret, entry: entry) {
                $0.isEmpty ? "the client secret is empty" : nil
            }
        }
        self.init(connections: connections, secrets: secrets)
    }

    public var isEmpty: Bool { connections.isEmpty }

    public func connection(_ id: String) -> ConnectionConfiguration? { connections.first { $0.id == id } }

    /// The OAuth client of each connection, by id.
    public func clients(clock: Clock) -> [String: ConnectionTokenClient] {
        Dictionary(uniqueKeysWithValues: connections.map { connection in
            (connection.id, ConnectionTokenClient(connection: connection, clientSecret: secrets[connection.id], clock: clock))
        })
    }

    public var description: String { "ConnectionSettings(\(connections.map(\.id)))" }
}
