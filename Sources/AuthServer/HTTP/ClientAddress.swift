#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// An IPv4 or IPv6 address as its bytes (4 or 16); an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`,
/// what a dual-stack socket reports for an IPv4 peer) is the IPv4 address.
struct IPAddress: Hashable, Sendable {
    let bytes: [UInt8]

    init?(_ text: some StringProtocol) {
        var text = String(text)
        // `[2001:db8::1]` and `[2001:db8::1]:443`, `203.0.113.5:443`: some proxies add the port.
        if text.hasPrefix("["), let end = text.firstIndex(of: "]") {
            text = String(text[text.index(after: text.startIndex)..<end])
        } else if text.contains("."), let colon = text.firstIndex(of: ":"), text.lastIndex(of: ":") == colon {
            text = String(text[..<colon])
        }
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            let all = withUnsafeBytes(of: &v6) { Array($0) }
            bytes = all.prefix(10).allSatisfy { $0 == 0 } && all[10] == 0xFF && all[11] == 0xFF ? Array(all.suffix(4)) : all
        } else {
            return nil
        }
    }

    var isIPv4: Bool { bytes.count == 4 }

    /// The canonical text (`203.0.113.5`, `2001:db8::1`), without brackets or port.
    var text: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let family = isIPv4 ? AF_INET : AF_INET6
        let written = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) }
        guard written != nil else { return bytes.map(String.init).joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The network registrations are counted per: the /24 of an IPv4 address, the /56 of an IPv6
    /// one (what one subscriber or one cloud machine is typically given), e.g. `203.0.113.0/24`,
    /// `2001:db8:aa:bb00::/56`.
    var sourceNetwork: String {
        if isIPv4 { return "\(bytes[0]).\(bytes[1]).\(bytes[2]).0/24" }
        var kept = Array(bytes.prefix(7)) + [0]
        kept += [UInt8](repeating: 0, count: 8)
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(kept[$0]) << 8 | UInt16(kept[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/56"
    }
}

/// One CIDR block, `10.0.0.0/8` or `2001:db8::/32`; a bare address is a block of one.
struct IPNetwork: Hashable, Sendable, CustomStringConvertible {
    let base: IPAddress
    let prefixLength: Int
    /// As configured, for messages.
    let description: String

    init?(cidr text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let base = IPAddress(parts[0]) else { return nil }
        let maximum = base.bytes.count * 8
        if parts.count == 2 {
            guard let length = Int(parts[1]), (0...maximum).contains(length), parts[1].allSatisfy(\.isASCII) else { return nil }
            prefixLength = length
        } else {
            prefixLength = maximum
        }
        self.base = base
        description = text
    }

    func contains(_ address: IPAddress) -> Bool {
        guard address.bytes.count == base.bytes.count else { return false }
        var remaining = prefixLength
        for (a, b) in zip(address.bytes, base.bytes) where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            guard a & mask == b & mask else { return false }
            remaining -= bits
        }
        return true
    }
}

/// `GATEHOUSE_TRUSTED_PROXIES`: the networks whose `X-Forwarded-For` is believed.
///
/// `X-Forwarded-For` is a list each proxy appends the address it saw to; anything left of what
/// our own proxies wrote came from the client and can be forged. So the list is walked from the
/// right, starting only when the TCP peer is itself a trusted proxy, skipping addresses inside
/// trusted networks: the first address that is not is the client. If every entry is trusted the
/// leftmost is (a request from inside our own network). With no networks configured the header
/// is never believed, and the peer is the client.
struct TrustedProxies: Sendable {
    let networks: [IPNetwork]
    /// Tests only, never from the environment: a request with no socket peer (Hummingbird's
    /// router test framework, peer "unknown") counts as coming from a trusted proxy, so each
    /// test can send its own X-Forwarded-For.
    var trustsPeerWithoutAddress = false

    static let none = TrustedProxies(networks: [])

    init(networks: [IPNetwork]) { self.networks = networks }

    /// The comma-separated list, or the first entry that is not a CIDR block, as the error.
    init(list: [String], variable: String) throws {
        networks = try list.map { entry in
            guard let network = IPNetwork(cidr: entry) else {
                throw ConfigurationError(variable, "\"\(entry.prefix(80))\" is not an IPv4 or IPv6 CIDR block (like 10.0.0.0/8 or fd00::/8)")
            }
            return network
        }
    }

    func isTrusted(_ text: some StringProtocol) -> Bool {
        guard let address = IPAddress(text) else { return false }
        return networks.contains { $0.contains(address) }
    }

    /// Clipped like every address we store, so a forged header cannot fill a row.
    static let maximumLength = 64

    /// The client's address: `peer` unless it is a trusted proxy, else the walk described above
    /// over every `X-Forwarded-For` value in order, in canonical form (no brackets, no port: a
    /// port must not make one client many). An entry that is not an address ends the walk and is
    /// the client (our proxy wrote it, or a client did and the proxy kept it: either way it is
    /// not one of ours).
    func clientAddress(peer: String, forwardedFor values: [String]) -> String {
        guard isTrusted(peer) || (trustsPeerWithoutAddress && IPAddress(peer) == nil) else { return peer }
        let entries = values.flatMap { $0.split(separator: ",") }
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }
        var client = peer
        for entry in entries.reversed() {
            guard let address = IPAddress(entry) else { return String(entry.prefix(Self.maximumLength)) }
            client = address.text
            guard networks.contains(where: { $0.contains(address) }) else { return client }
        }
        return client
    }
}

/// Computes the client address once per request (`TrustedProxies`) into the request context,
/// for everything that acts on it: login throttling, rate limits, duplicates, the audit trail.
struct ClientAddressMiddleware: RouterMiddleware {
    let trustedProxies: TrustedProxies

    func handle(_ request: Request, context: AuthRequestContext,
                next: (Request, AuthRequestContext) async throws -> Response) async throws -> Response {
        guard !trustedProxies.networks.isEmpty || trustedProxies.trustsPeerWithoutAddress else {
            return try await next(request, context)
        }
        var context = context
        context.clientAddress = trustedProxies.clientAddress(peer: context.peerAddress,
                                                             forwardedFor: request.headers[values: .xForwardedFor])
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

/// The network a client address belongs to, for per-network limits and duplicate detection: the
/// /24 or /56 (`IPAddress.sourceNetwork`), or the text itself when it is not an address.
func sourceNetwork(of clientAddress: String) -> String {
    IPAddress(clientAddress)?.sourceNetwork ?? String(clientAddress.prefix(TrustedProxies.maximumLength))
}
