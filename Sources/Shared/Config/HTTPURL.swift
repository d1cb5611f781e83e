import Foundation

/// Validation shared by every URL-valued setting (issuer, MCP resource).
public enum HTTPURL {
    /// True for hosts that only this machine can reach (RFC 8252 §7.3 loopback, plus `localhost`).
    public static func isLoopbackHost(_ host: String) -> Bool {
        let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return h == "localhost" || h == "::1" || h.hasPrefix("127.")
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
