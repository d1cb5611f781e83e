import Foundation
import NIOSSL
import PostgresNIO

/// Where the shared PostgreSQL database is. Read from `DATABASE_URL`
/// (`postgres://user:password@host:port/database?sslmode=…&sslrootcert=…`); `sslmode` means
/// what it means to libpq (see `PostgresSSLMode`).
public struct DatabaseConfiguration: Sendable {
    public var host: String
    public var port: Int
    public var username: String
    public var password: String?
    public var database: String
    public var sslMode: PostgresSSLMode
    /// `sslrootcert`: a PEM file of the CA certificates that verify the server; nil (or
    /// `system`) means the system's trust store.
    public var sslRootCertificate: String?
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
        let sslmode = url.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? PostgresSSLMode.prefer.rawValue
        guard let sslMode = PostgresSSLMode(rawValue: sslmode) else {
            throw ConfigurationError(Self.variable, "sslmode \"\(sslmode)\" is not one of "
                + PostgresSSLMode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let rootCertificate = url.queryItems?.first(where: { $0.name == "sslrootcert" })?.value.flatMap { $0 == "system" ? nil : $0 }
        if let rootCertificate {
            guard (try? NIOSSLCertificate.fromPEMFile(rootCertificate))?.isEmpty == false else {
                throw ConfigurationError(Self.variable, "sslrootcert \"\(rootCertificate)\" is not a readable PEM file of certificates")
            }
        }
        self.host = host
        self.port = url.port ?? 5432
        self.username = user.removingPercentEncoding ?? user
        self.password = url.password?.removingPercentEncoding
        self.database = database
        self.sslMode = sslMode
        self.sslRootCertificate = rootCertificate
        self.maxConnections = 20
        self.queryTimeout = .seconds(5)
    }

    public func clientConfiguration() throws -> PostgresClient.Configuration {
        var config = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database,
            tls: try poolTLS()
        )
        config.options.maximumConnections = maxConnections
        config.options.connectionIdleTimeout = .seconds(60)
        return config
    }
}
