import Foundation
import HTTPTypes
@testable import AuthServer

/// A person's browser: carries the `gh_flow` and `gh_session` cookies by hand and fills in the
/// login and consent forms from the hidden fields of the pages it was shown.
struct Browser: Sendable {
    let server: TestAuthServer
    var cookies: [String: String] = [:]

    init(_ server: TestAuthServer) { self.server = server }

    var cookieHeader: HTTPFields {
        guard !cookies.isEmpty else { return [:] }
        return [.cookie: cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")]
    }

    private mutating func remember(_ reply: Reply) -> Reply {
        for (name, cookie) in reply.cookies { cookies[name] = cookie.value }
        return reply
    }

    mutating func get(_ path: String) async throws -> Reply {
        remember(try await server.get(path, headers: cookieHeader))
    }

    mutating func post(_ path: String, _ fields: [(String, String)]) async throws -> Reply {
        remember(try await server.postForm(path, fields, headers: cookieHeader))
    }

    mutating func authorize(_ parameters: [(String, String)]) async throws -> Reply {
        try await get("/authorize?" + FormEncoding.query(parameters))
    }

    /// Submits the login form of `page`.
    mutating func login(from page: Reply, username: String? = nil, password: String? = nil) async throws -> Reply {
        try await post("/login", [
            ("request", page.hiddenField("request") ?? ""), ("csrf", page.hiddenField("csrf") ?? ""),
            ("username", username ?? server.username), ("password", password ?? server.password),
        ])
    }

    /// Submits the consent form of `page` with `decision` (approve or deny).
    mutating func consent(from page: Reply, decision: String = "approve") async throws -> Reply {
        try await post("/consent", [
            ("request", page.hiddenField("request") ?? ""), ("csrf", page.hiddenField("csrf") ?? ""), ("decision", decision),
        ])
    }

    /// Follows a valid authorization request through whatever pages come (login, consent) until
    /// the server redirects back to the client, approving everything.
    mutating func approve(_ parameters: [(String, String)]) async throws -> Reply {
        var reply = try await authorize(parameters)
        if reply.isLoginPage { reply = try await login(from: reply) }
        if reply.isConsentPage { reply = try await consent(from: reply) }
        return reply
    }
}
