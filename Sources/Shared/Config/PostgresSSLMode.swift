import NIOSSL
import PostgresNIO

/// `sslmode` of `DATABASE_URL`, with libpq's meaning (PostgreSQL manual, "SSL Support",
/// table "SSL Mode Descriptions"), so a URL that works with `psql` means the same here:
///
/// | mode | TLS | verification |
/// |---|---|---|
/// | `disable` | never | |
/// | `allow`, `prefer` (the default) | tried first; plain only if the server refuses TLS | none |
/// | `require` | always | none, unless `sslrootcert` is given: then the chain, as libpq does |
/// | `verify-ca` | always | the chain, against `sslrootcert` (or the system's CAs) |
/// | `verify-full` | always | the chain and the host name |
///
/// libpq's `allow` tries plain first and TLS second; postgres-nio can only ask for TLS first,
/// so `allow` behaves like `prefer`, which never uses less TLS than libpq would.
public enum PostgresSSLMode: String, Sendable, CaseIterable {
    case disable
    case allow
    case prefer
    case require
    case verifyCA = "verify-ca"
    case verifyFull = "verify-full"

    /// Whether a connection asks for TLS, and whether it may go on without it.
    public enum TLSUse: Sendable, Equatable {
        case never
        /// Asked for; plain only when the server refuses TLS.
        case preferred
        case required
    }

    public var tlsUse: TLSUse {
        switch self {
        case .disable: .never
        case .allow, .prefer: .preferred
        case .require, .verifyCA, .verifyFull: .required
        }
    }

    /// True when a connection without TLS is refused.
    public var requiresTLS: Bool { tlsUse == .required }
}

extension DatabaseConfiguration {
    /// How much of the server's certificate is checked.
    public enum CertificateCheck: Sendable, Equatable {
        case none
        /// The chain, up to `sslrootcert` or the system's CAs.
        case chain
        /// The chain, and that the certificate names the host of `DATABASE_URL`.
        case chainAndHostName
    }

    /// Kept for callers that only need to know whether plain connections are refused.
    public var requireTLS: Bool { sslMode.requiresTLS }

    public var certificateCheck: CertificateCheck {
        switch sslMode {
        case .disable, .allow, .prefer: .none
        // libpq: "if a root CA file exists, the behavior of sslmode=require will be the same
        // as that of verify-ca".
        case .require: sslRootCertificate == nil ? .none : .chain
        case .verifyCA: .chain
        case .verifyFull: .chainAndHostName
        }
    }

    /// The TLS settings `sslMode` stands for, or nil for `disable`.
    public func tlsConfiguration() throws -> TLSConfiguration? {
        guard sslMode != .disable else { return nil }
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.certificateVerification = switch certificateCheck {
        case .none: .none
        case .chain: .noHostnameVerification
        case .chainAndHostName: .fullVerification
        }
        if let sslRootCertificate {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(sslRootCertificate))
        }
        return tls
    }

    /// For the pool: `.prefer` falls back to plain only when the server answers the TLS
    /// request with "no" (postgres-nio's `SSLRequest` handling); a failed handshake fails.
    public func poolTLS() throws -> PostgresClient.Configuration.TLS {
        guard let tls = try tlsConfiguration() else { return .disable }
        return sslMode.tlsUse == .required ? .require(tls) : .prefer(tls)
    }

    /// The same, for a single connection (the admin commands' first probe).
    public func connectionTLS() throws -> PostgresConnection.Configuration.TLS {
        guard let tls = try tlsConfiguration() else { return .disable }
        let context = try NIOSSLContext(configuration: tls)
        return sslMode.tlsUse == .required ? .require(context) : .prefer(context)
    }
}
