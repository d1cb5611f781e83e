import Foundation
import HTTPTypes
import Shared
import Testing
import TestSupport
@testable import AuthServer

/// What the OpenID Connect and user-revocation tests share: a user of their own (with profile
/// claims), a sign-in as that user, and an ID token checked with our published keys.
extension TestAuthServer {
    func createUser(_ profile: UserProfile = UserProfile(), prefix: String = "oidc") async throws -> User {
        try await UserStore(database: database, hasher: AuthServerFixture.passwordHasher)
            .create(username: TestDatabase.uniqueName(prefix), password: password, profile: profile)
    }

    /// Signs `user` in (when the browser has no session), approves, and returns the code.
    func obtainCode(as user: User, _ client: RegisteredClient, _ pkce: PKCE, browser: inout Browser,
                    changes: [String: String?] = [:]) async throws -> String {
        var reply = try await browser.authorize(authorizeParameters(client, pkce, changes: changes))
        if reply.isLoginPage { reply = try await browser.login(from: reply, username: user.username) }
        if reply.isConsentPage { reply = try await browser.consent(from: reply) }
        try #require(reply.status == .seeOther, "no redirect: \(reply.status) \(reply.body.prefix(300))")
        return try #require(reply.redirectParameters["code"], "no code in \(reply.location ?? "")")
    }

    func issueTokens(as user: User, _ client: RegisteredClient, browser: inout Browser,
                     changes: [String: String?] = [:]) async throws -> IssuedTokens {
        let pkce = PKCE()
        let code = try await obtainCode(as: user, client, pkce, browser: &browser, changes: changes)
        let reply = try await exchange(code, client: client, verifier: pkce.verifier)
        try #require(reply.status == .ok, "token exchange failed: \(reply.body)")
        return IssuedTokens(reply: reply)
    }

    /// The JWKS as published, and the ID token verified with it (`typ` JWT, RS256, our `kid`).
    func verifiedIDToken(_ token: String) async throws -> (claims: IDTokenClaims, json: [String: Any], jwks: String) {
        let jwt = try JWTParser.parse(token, expectedType: IDTokenClaims.type)
        #expect(jwt.header.typ == "JWT" && jwt.header.alg == "RS256")
        let jwksText = try await get("/jwks.json").body
        let jwks = try JSONDecoder().decode(JWKS.self, from: Data(jwksText.utf8))
        let kid = try #require(jwt.header.kid)
        let jwk = try #require(jwks.key(withID: kid))
        try jwt.verifySignature(with: try RSAKey(publicJWK: jwk))
        let json = try #require(try JSONSerialization.jsonObject(with: Data(jwt.payload)) as? [String: Any])
        return (try jwt.decodePayload(IDTokenClaims.self), json, jwksText)
    }

    func userInfo(_ token: String?, method: HTTPRequest.Method = .get, path: String = "/userinfo") async throws -> Reply {
        var headers: HTTPFields = [:]
        if let token { headers[.authorization] = "Bearer \(token)" }
        return try await send(method, path, headers: headers)
    }
}

extension IssuedTokens {
    var idToken: String? { reply.json["id_token"] as? String }
}

/// Runs a short Python program (joserfc, an implementation that shares no code with ours) with
/// the system `python3` or `GATEHOUSE_PYTHON`. Files, not pipes, so the child never blocks.
enum PythonCheck {
    struct Result { let status: Int32; let stdout: String; let stderr: String }

    static func run(_ source: String, files: [String: String]) throws -> Result {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gatehouse-oidc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(source.utf8).write(to: dir.appendingPathComponent("check.py"))
        for (name, contents) in files { try Data(contents.utf8).write(to: dir.appendingPathComponent(name)) }
        let out = dir.appendingPathComponent("out"), err = dir.appendingPathComponent("err")
        try Data().write(to: out)
        try Data().write(to: err)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [ProcessInfo.processInfo.environment["GATEHOUSE_PYTHON"] ?? "python3", "check.py"]
        process.currentDirectoryURL = dir
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        try process.run()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: try String(contentsOf: out, encoding: .utf8),
                      stderr: try String(contentsOf: err, encoding: .utf8))
    }
}
