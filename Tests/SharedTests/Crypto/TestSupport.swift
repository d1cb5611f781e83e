import Foundation
import Shared
import Testing

/// RFC 7638 §3.1 example key (the RFC 7517 Appendix A.1 modulus).
enum RFC7638Example {
    static let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    static let e = "AQAB"
    static let thumbprint = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
}

/// Helpers for the crypto tests, namespaced so they cannot collide with other SharedTests files.
enum CryptoFixtures {
    /// A fresh directory under the system temp dir, removed by the caller.
    static func makeTemporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-crypto-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    struct ProcessResult {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs an external program to completion (stdin closed) and captures its output.
    static func runProcess(_ executable: String, _ arguments: [String]) throws -> ProcessResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Outputs here are small (a token, a line of JSON), far below the pipe buffer, so reading one pipe to
        // EOF before the other cannot deadlock.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return ProcessResult(status: process.terminationStatus,
                             stdout: String(decoding: stdout, as: UTF8.self),
                             stderr: String(decoding: stderr, as: UTF8.self))
    }

    static func sampleClaims(now: Int = 1_700_000_000, aud: Audience = .one("https://mcp.example.com/mcp")) -> AccessTokenClaims {
        AccessTokenClaims(iss: "https://auth.example.com", sub: "user-42", aud: aud, client_id: "client-1",
                          scope: "mcp:read mcp:write", iat: now, exp: now + 300, jti: "jti-1")
    }
}
