import Foundation
import Shared

/// Which redirect URIs a client may register, and how a requested one matches a registered one.
enum RedirectURIPolicy {
    /// Schemes that execute or embed content: never a redirect target.
    static let forbiddenSchemes: Set<String> = ["javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss"]

    /// Validates one URI at registration time.
    ///
    /// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI … MUST NOT include a
    /// fragment component." OAuth 2.1 §2.3.1 / MCP: https, or http only for loopback
    /// (RFC 8252 §7.3); private-use URI schemes for native apps (RFC 8252 §7.1).
    static func validate(_ raw: String) -> String? {
        guard raw.count <= 2000 else { return "redirect URI is too long" }
        guard !raw.contains("#") else { return "redirect URI must not contain a fragment" }
        guard let parts = URLComponents(string: raw), let scheme = parts.scheme?.lowercased() else {
            return "redirect URI is not an absolute URI"
        }
        if forbiddenSchemes.contains(scheme) { return "redirect URI scheme \(scheme) is not allowed" }
        switch scheme {
        case "https":
            guard let host = parts.host, !host.isEmpty else { return "https redirect URI has no host" }
            guard parts.user == nil, parts.password == nil else { return "redirect URI must not carry credentials" }
            return nil
        case "http":
            guard let host = parts.host, HTTPURL.isLoopbackHost(host) else {
                return "http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], localhost)"
            }
            return nil
        default:
            // RFC 8252 §7.1: a private-use scheme in reverse domain-name notation (com.example.app:/cb).
            guard scheme.contains(".") else {
                return "custom redirect URI schemes must be private-use schemes in reverse domain notation, such as com.example.app"
            }
            return nil
        }
    }

    /// Does `requested` match one of `registered`?
    ///
    /// Exact string comparison, except that for loopback http redirects the port is ignored:
    /// RFC 8252 §7.3 "The authorization server MUST allow any port to be specified at the time of
    /// the request for loopback IP redirect URIs".
    static func matches(_ requested: String, registered: [String]) -> Bool {
        if registered.contains(requested) { return true }
        guard let wanted = URLComponents(string: requested), wanted.scheme?.lowercased() == "http",
              let host = wanted.host, HTTPURL.isLoopbackHost(host)
        else { return false }
        return registered.contains { candidate in
            guard let parts = URLComponents(string: candidate), parts.scheme?.lowercased() == "http",
                  parts.host?.lowercased() == host.lowercased()
            else { return false }
            return parts.path == wanted.path && parts.query == wanted.query && wanted.fragment == nil
        }
    }
}
