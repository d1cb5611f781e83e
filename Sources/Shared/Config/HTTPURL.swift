import Foundation

/// Validation shared by every URL-valued setting (issuer, MCP resource).
public enum HTTPURL {
    /// True for hosts that only this machine can reach: exactly an IPv4 literal in 127.0.0.0/8,
    /// the IPv6 literal `::1` (bracketed as in a URL, or bare), or the name `localhost`.
    ///
    /// RFC 8252 §7.3: "Loopback redirect URIs use the "http" scheme and are constructed with the
    /// loopback IP literal and whatever port the client is listening on." A string-prefix test
    /// such as `hasPrefix("127.")` would also accept `127.attacker.example` or `127.0.0.1.nip.io`,
    /// names anyone can point anywhere; so the literal is parsed, never matched as text.
    public static func isLoopbackHost(_ host: String) -> Bool {
        let lowered = host.lowercased()
        if lowered == "localhost" { return true }
        if lowered.hasPrefix("[") || lowered.hasSuffix("]") {
            guard lowered.hasPrefix("["), lowered.hasSuffix("]"), lowered.count > 2 else { return false }
            return IPLiteral.ipv6(String(lowered.dropFirst().dropLast())).map(IPLiteral.isIPv6Loopback) ?? false
        }
        if let v4 = IPLiteral.ipv4(lowered) { return v4[0] == 127 }
        if let v6 = IPLiteral.ipv6(lowered) { return IPLiteral.isIPv6Loopback(v6) }
        return false
    }

    /// Parses an absolute http(s) URL with no query or fragment and no trailing slash on the path,
    /// returning its canonical text (lowercase scheme and host).
    public static func canonical(_ raw: String, variable: String) throws -> URLComponents {
        guard var parts = URLComponents(string: raw), let scheme = parts.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty
        else { throw ConfigurationError(variable, "\"\(raw)\" is not an absolute http(s) URL") }
        guard parts.query == nil, parts.fragment == nil else {
            throw ConfigurationError(variable, "\"\(raw)\" must not have a query or fragment")
        }
        guard parts.user == nil, parts.password == nil else {
            throw ConfigurationError(variable, "\"\(raw)\" must not contain credentials")
        }
        if parts.path.hasSuffix("/") {
            throw ConfigurationError(variable, "\"\(raw)\" must not end with a slash (the issuer string must be byte-identical everywhere)")
        }
        parts.scheme = scheme
        parts.host = host.lowercased()
        return parts
    }

    /// An issuer as `GATEHOUSE_ISSUER` must give it. RFC 8414 §3.3: the metadata's issuer "MUST be
    /// identical to the issuer identifier value"; clients compare byte for byte, so the setting must
    /// already be canonical rather than be rewritten silently.
    public static func issuer(_ raw: String, variable: String = "GATEHOUSE_ISSUER") throws -> URLComponents {
        let parts = try canonical(raw, variable: variable)
        guard parts.string == raw else {
            throw ConfigurationError(variable, "\"\(raw)\" is not canonical; write it as \(parts.string ?? "")")
        }
        return parts
    }
}
