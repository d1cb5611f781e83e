import NIOCore

/// Which addresses the authorization server may connect to when it fetches a client ID metadata
/// document: the client chooses the URL, so without this any visitor could make the server probe
/// its own network. In Shared because the ResourceServer follows the same rules when it refreshes
/// a user's connection tokens (docs/federation.md, "Connections").
///
/// draft-ietf-oauth-client-id-metadata-document-00 §6.5: "Authorization servers SHOULD avoid
/// fetching any URLs using private or loopback addresses and consider network policies or other
/// measures to prevent making requests to these addresses."
public enum OutboundAddressPolicy {
    public enum Verdict: Equatable, Sendable {
        case publicAddress
        /// Refused unless GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK is set (tests).
        case loopback
        case refused(String)
    }

    private struct Range {
        let prefix: [UInt8]
        let bits: Int
        let name: String
    }

    private static let ipv4: [Range] = [
        Range(prefix: [0], bits: 8, name: "\"this network\" (0.0.0.0/8)"),
        Range(prefix: [10], bits: 8, name: "private (10.0.0.0/8)"),
        Range(prefix: [100, 64], bits: 10, name: "carrier-grade NAT (100.64.0.0/10)"),
        Range(prefix: [169, 254], bits: 16, name: "link-local (169.254.0.0/16)"),
        Range(prefix: [172, 16], bits: 12, name: "private (172.16.0.0/12)"),
        Range(prefix: [192, 0, 0], bits: 24, name: "IETF protocol assignments (192.0.0.0/24)"),
        Range(prefix: [192, 0, 2], bits: 24, name: "documentation (192.0.2.0/24)"),
        Range(prefix: [192, 168], bits: 16, name: "private (192.168.0.0/16)"),
        Range(prefix: [198, 18], bits: 15, name: "benchmarking (198.18.0.0/15)"),
        Range(prefix: [198, 51, 100], bits: 24, name: "documentation (198.51.100.0/24)"),
        Range(prefix: [203, 0, 113], bits: 24, name: "documentation (203.0.113.0/24)"),
        Range(prefix: [224], bits: 4, name: "multicast (224.0.0.0/4)"),
        Range(prefix: [240], bits: 4, name: "reserved or broadcast (240.0.0.0/4)"),
    ]

    private static let ipv6: [Range] = [
        Range(prefix: [0x01, 0x00, 0, 0, 0, 0, 0, 0], bits: 64, name: "discard (100::/64)"),
        Range(prefix: [0x20, 0x01, 0x0d, 0xb8], bits: 32, name: "documentation (2001:db8::/32)"),
        Range(prefix: [0xfc], bits: 7, name: "unique local (fc00::/7)"),
        Range(prefix: [0xfe, 0x80], bits: 10, name: "link-local (fe80::/10)"),
        Range(prefix: [0xfe, 0xc0], bits: 10, name: "site-local (fec0::/10)"),
        Range(prefix: [0xff], bits: 8, name: "multicast (ff00::/8)"),
    ]

    public static func classify(_ address: SocketAddress) -> Verdict {
        switch address {
        case .v4(let v4):
            var raw = v4.address.sin_addr
            return classify(ipv4: withUnsafeBytes(of: &raw) { Array($0) })
        case .v6(let v6):
            var raw = v6.address.sin6_addr
            return classify(ipv6: withUnsafeBytes(of: &raw) { Array($0) })
        case .unixDomainSocket:
            return .refused("a unix socket")
        }
    }

    /// Four bytes in network order.
    public static func classify(ipv4 bytes: [UInt8]) -> Verdict {
        guard bytes.count == 4 else { return .refused("a malformed IPv4 address") }
        if bytes[0] == 127 { return .loopback }
        if let range = ipv4.first(where: { matches(bytes, $0) }) { return .refused("a \(range.name) address") }
        return .publicAddress
    }

    /// Sixteen bytes in network order. Addresses that embed an IPv4 address (mapped, NAT64, 6to4)
    /// are judged by the embedded one.
    public static func classify(ipv6 bytes: [UInt8]) -> Verdict {
        guard bytes.count == 16 else { return .refused("a malformed IPv6 address") }
        let first96 = bytes.prefix(12)
        if first96.allSatisfy({ $0 == 0 }) {
            if bytes[12..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return .loopback }  // ::1
            return .refused("an unspecified or IPv4-compatible IPv6 address (::/96)")
        }
        if first96 == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff][...] {  // ::ffff:0:0/96, IPv4-mapped
            return classify(ipv4: Array(bytes[12..<16]))
        }
        if first96 == [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0][...] {  // 64:ff9b::/96, NAT64
            return classify(ipv4: Array(bytes[12..<16]))
        }
        if bytes[0] == 0x20 && bytes[1] == 0x02 {  // 2002::/16, 6to4
            return classify(ipv4: Array(bytes[2..<6]))
        }
        if let range = ipv6.first(where: { matches(bytes, $0) }) { return .refused("a \(range.name) address") }
        return .publicAddress
    }

    private static func matches(_ bytes: [UInt8], _ range: Range) -> Bool {
        var remaining = range.bits
        for (index, byte) in range.prefix.enumerated() where remaining > 0 {
            let take = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xff << (8 - take))
            if bytes[index] & mask != byte & mask { return false }
            remaining -= take
        }
        return true
    }
}
