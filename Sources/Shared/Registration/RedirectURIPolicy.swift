import Foundation

/// Which redirect URIs a client may register, and how a requested one matches a registered one.
public enum RedirectURIPolicy {
    /// Schemes that execute or embed content, reach files or other protocols, or hand the code to
    /// another application by a well-known name: never a redirect target.
    public static let forbiddenSchemes: Set<String> = [
        "javascript", "data", "file", "vbscript", "about", "blob", "filesystem", "view-source", "jar",
        "ftp", "ws", "wss", "mailto", "tel", "sms", "urn",
    ]

    /// Where a code sent to a redirect URI ends up, which decides how far the URI proves the client.
    public enum Kind: Equatable, Sendable {
        /// An https URL: the host's owner receives the code.
        case https
        /// http on a loopback literal or `localhost`: any program on this computer listening on the port.
        case loopback
        /// A private-use scheme (RFC 8252 §7.1): whichever app on this computer claimed the scheme.
        case privateUse
    }

    /// The kind of an already registered (valid) redirect URI.
    public static func kind(of uri: String) -> Kind {
        switch URLComponents(string: uri)?.scheme?.lowercased() {
        case "https": return .https
        case "http": return .loopback
        default: return .privateUse
        }
    }

    /// Validates one URI at registration time.
    ///
    /// RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI … MUST NOT include a
    /// fragment component." OAuth 2.1 §2.3.1 / MCP: https, or http only for loopback
    /// (RFC 8252 §7.3); private-use URI schemes for native apps (RFC 8252 §7.1). RFC 8252 asks
    /// apps to use reverse domain names, but real clients do not (Cursor registers
    /// `cursor://anysphere.cursor-mcp/oauth/callback`), so any syntactically valid scheme that is
    /// not on the forbidden list is accepted, matched exactly, and the consent page warns that an
    /// app on this computer will receive the code.
    public static func validate(_ raw: String) -> String? {
        guard raw.count <= 2000 else { return "redirect URI is too long" }
        guard !raw.contains("#") else { return "redirect URI must not contain a fragment" }
        guard let parts = URLComponents(string: raw), let scheme = parts.scheme?.lowercased() else {
            return "redirect URI is not an absolute URI"
        }
        if forbiddenSchemes.contains(scheme) { return "redirect URI scheme \(scheme) is not allowed" }
        guard parts.user == nil, parts.password == nil else { return "redirect URI must not carry credentials" }
        switch scheme {
        case "https":
            guard let host = parts.host, !host.isEmpty else { return "https redirect URI has no host" }
            return nil
        case "http":
            guard let host = parts.host, HTTPURL.isLoopbackHost(host) else {
                return "http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], localhost)"
            }
            return nil
        default:
            // RFC 3986 §3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). URLComponents
            // accepts a little more; the explicit check keeps what we store unambiguous.
            guard let first = scheme.unicodeScalars.first, ("a"..."z").contains(first),
                  scheme.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || "+-.".unicodeScalars.contains($0) })
            else { return "redirect URI scheme is not a valid URI scheme" }
            guard !parts.percentEncodedPath.isEmpty || parts.host != nil else {
                return "a private-use redirect URI needs a path, such as com.example.app:/callback"
            }
            return nil
        }
    }

    /// Does `requested` match one of `registered`?
    ///
    /// Exact string comparison, except that for loopback http redirects the port is ignored:
    /// RFC 8252 §7.3 "The authorization server MUST allow any port to be specified at the time of
    /// the request for loopback IP redirect URIs". Only the port: the rest is compared as written
    /// (writing the FuzzRedirectURI harness found decoded paths and queries, credentials and the
    /// host's case ignored too, docs/testing.md "Fuzzing").
    public static func matches(_ requested: String, registered: [String]) -> Bool {
        if registered.contains(requested) { return true }
        guard let wanted = URLComponents(string: requested), wanted.scheme?.lowercased() == "http",
              let host = wanted.host, HTTPURL.isLoopbackHost(host), wanted.fragment == nil,
              let bare = withoutPort(wanted)
        else { return false }
        return registered.contains { candidate in
            guard let parts = URLComponents(string: candidate), parts.scheme?.lowercased() == "http" else { return false }
            return withoutPort(parts) == bare
        }
    }

    /// The URI as written, without its port.
    private static func withoutPort(_ parts: URLComponents) -> String? {
        var parts = parts
        parts.port = nil
        return parts.string
    }
}
