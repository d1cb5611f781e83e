import AsyncHTTPClient
import NIOCore

/// The one way an outbound fetch to an address the caller has already checked
/// (`OutboundAddressPolicy`) gets its client: redirects off, one connection attempt, and the
/// connection pinned to that very address (AsyncHTTPClient's `dnsOverride`, which keeps SNI and
/// certificate checks on the host name), so a second DNS answer cannot point it elsewhere.
/// Client ID metadata documents, identity providers and connections all fetch through it.
public enum PinnedHTTPClient {
    /// A new client for `rawHost` (as written in the URL) at `address`; the caller shuts it down.
    public static func make(rawHost: String, host: String, port: Int, address: SocketAddress, timeout: TimeAmount) -> HTTPClient {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: timeout, read: timeout))
        // One attempt: a host that refuses connections fails now, not after 5 s of retries.
        configuration.connectionPool.retryConnectionEstablishment = false
        if let ip = address.ipAddress, (try? SocketAddress(ipAddress: host, port: port)) == nil {
            configuration.dnsOverride = [rawHost: ip, rawHost.lowercased(): ip]
        }
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}
