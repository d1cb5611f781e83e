#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Strict parsing of IP address literals, as a URL host carries them.
///
/// `inet_pton` accepts only the full dotted-quad form for IPv4 (no `127.1`, no octal or hex
/// parts, no leading zeros on glibc) and RFC 4291 text for IPv6, which is what a URL host may
/// be (RFC 3986 §3.2.2 `IPv4address` / `IP-literal`).
public enum IPLiteral {
    /// The four bytes of a dotted-quad IPv4 literal, or nil.
    public static func ipv4(_ text: String) -> [UInt8]? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 == UInt8(ascii: ".") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else { return nil }
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// The sixteen bytes of an IPv6 literal (without brackets), or nil.
    public static func ipv6(_ text: String) -> [UInt8]? {
        guard text.contains(":"), !text.contains("%") else { return nil }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        return withUnsafeBytes(of: &address) { Array($0) }
    }

    /// `::1` in any spelling (`0:0:0:0:0:0:0:1` too).
    public static func isIPv6Loopback(_ bytes: [UInt8]) -> Bool {
        bytes.count == 16 && bytes.prefix(15).allSatisfy { $0 == 0 } && bytes[15] == 1
    }
}
