import Foundation
import NIOSSL
import PostgresNIO

/// Where the shared PostgreSQL database is. Read from `DATABASE_URL`
/// (`postgres://user:password@host:port/database?sslmode=disable|require`).
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var requireTLS: Bool
    public var maxConnections: Int
    /// How long a single database call may take before it fails instead of hanging.
    public var queryTimeout: Duration

    public static let variable = "DATABASE_URL"

    public init(environment: Environment) throws {
        guard let raw = environment.string(Self.variable) else {
            throw ConfigurationError(Self.variable, "is not set (e.g. postgres://gatehouse@127.0.0.1:5432/gatehouse)")
        }
        try self.init(url: raw)
        maxConnections = try environment.int("DATABASE_MAX_CONNECTIONS", default: 20, range: 1...500)
        queryTimeout = .seconds(try environment.int("DATABASE_TIMEOUT_SECONDS", default: 5, range: 1...300))
    }

    public init(url raw: String) throws {
        guard let url = URLComponents(string: raw), let scheme = url.scheme,
              scheme == "postgres" || scheme == "postgresql"
        else { throw ConfigurationError(Self.variable, "must be a postgres:// URL") }
        guard let host = url.host, !host.isEmpty else { throw ConfigurationError(Self.variable, "has no host") }
        let database = url.path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !database.isEmpty else { throw ConfigurationError(Self.variable, "has no database name") }
        guard let user = url.user, !user.isEmpty else { throw ConfigurationError(Self.variable, "has no user name") }
        let sslmode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? "disable"
        guard ["disable", "require", "prefer", "verify-full"].contains(sslmode) else {
            throw ConfigurationError(Self.variable, "sslmode \"\(sslmode)\" is not one of disable, prefer, require, verify-full")
        }
        self.host = host
        self.port = url.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = url.password?.removingPercentEncoding
        self.database = database
        self.requireTLS = sslmode == "require" || sslmode == "verify-full"
        self.maxConnections = 20
        self.queryTimeout = .seconds(5)
    }

    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var config = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable
        )
        config.options.maximumConnections = maxConnections
        config.options.connectionIdleTimeout = .seconds(60)
        return config
    }
}
