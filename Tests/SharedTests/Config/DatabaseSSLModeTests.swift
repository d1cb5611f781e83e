import Foundation
import Shared
import Testing

/// `sslmode` means what it means to libpq (PostgreSQL manual, "SSL Support", table "SSL Mode
/// Descriptions"). Security review finding C.10: `prefer` used to connect without TLS at all.
@Suite("DATABASE_URL sslmode")
struct DatabaseSSLModeTests {
    private func configuration(_ query: String) throws -> DatabaseConfiguration {
        try DatabaseConfiguration(environment: Environment(["DATABASE_URL": "postgres://app@db.internal:5432/gatehouse\(query)"]))
    }

    @Test("each sslmode asks for TLS as libpq does, and verifies as much as libpq does", arguments: [
        ("?sslmode=disable", PostgresSSLMode.disable, PostgresSSLMode.TLSUse.never, DatabaseConfiguration.CertificateCheck.none),
        ("?sslmode=allow", .allow, .preferred, .none),
        ("?sslmode=prefer", .prefer, .preferred, .none),
        ("", .prefer, .preferred, .none),  // libpq's default
        ("?sslmode=require", .require, .required, .none),
        ("?sslmode=verify-ca", .verifyCA, .required, .chain),
        ("?sslmode=verify-full", .verifyFull, .required, .chainAndHostName),
    ])
    func modes(_ query: String, _ mode: PostgresSSLMode, _ use: PostgresSSLMode.TLSUse,
               _ check: DatabaseConfiguration.CertificateCheck) throws {
        let config = try configuration(query)
        #expect(config.sslMode == mode)
        #expect(config.sslMode.tlsUse == use)
        #expect(config.requireTLS == (use == .required))
        #expect(config.certificateCheck == check)
        #expect((try config.tlsConfiguration() == nil) == (mode == .disable))
        // The pool and the admin probe build from the same settings without failing.
        _ = try config.clientConfiguration()
        _ = try config.connectionTLS()
    }

    @Test("sslrootcert: the given CAs verify the chain; with require, as libpq does, the chain is verified too")
    func rootCertificate() throws {
        let pem = try SelfSignedCertificate.make(commonName: "db.internal")
        defer { try? FileManager.default.removeItem(atPath: pem.directory) }
        for (mode, check) in [("require", DatabaseConfiguration.CertificateCheck.chain),
                              ("verify-ca", .chain), ("verify-full", .chainAndHostName)] {
            let config = try configuration("?sslmode=\(mode)&sslrootcert=\(pem.certificate)")
            #expect(config.sslRootCertificate == pem.certificate)
            #expect(config.certificateCheck == check, "\(mode)")
            _ = try config.connectionTLS()
        }
        // `system` is the system trust store, as in libpq.
        let system = try configuration("?sslmode=verify-full&sslrootcert=system")
        #expect(system.sslRootCertificate == nil && system.sslMode == .verifyFull)
    }

    @Test("an unknown sslmode or an unreadable sslrootcert is a configuration error naming DATABASE_URL", arguments: [
        "?sslmode=sometimes", "?sslmode=PREFER", "?sslmode=", "?sslmode=verify-full&sslrootcert=/nonexistent/root.crt",
    ])
    func refused(_ query: String) {
        let error = #expect(throws: ConfigurationError.self) { _ = try configuration(query) }
        #expect(error?.variable == "DATABASE_URL")
    }
}

/// A throwaway self-signed certificate and key made with the openssl command line.
struct SelfSignedCertificate {
    let directory: String
    var certificate: String { directory + "/server.crt" }
    var key: String { directory + "/server.key" }

    static func make(commonName: String, subjectAltName: String? = nil) throws -> SelfSignedCertificate {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let made = SelfSignedCertificate(directory: directory)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=\(commonName)",
                             "-addext", "subjectAltName=\(subjectAltName ?? "DNS:\(commonName)")",
                             "-keyout", made.key, "-out", made.certificate]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        return made
    }
}
