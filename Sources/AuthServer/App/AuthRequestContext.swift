import Hummingbird
import NIOCore

/// The request context of every authorization-server route: Hummingbird's core storage plus the
/// TCP peer's address and the client's address (login throttling, rate limits, the audit trail).
struct AuthRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Who opened the connection: the client, or a proxy in front.
    let peerAddress: String
    /// Who sent the request: `peerAddress`, or what a trusted proxy says it saw
    /// (`ClientAddressMiddleware`, GATEHOUSE_TRUSTED_PROXIES).
    var clientAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
        clientAddress = peerAddress
    }

    /// Forms and registrations are small; anything larger is refused before it is read.
    var maxUploadSize: Int { 256 * 1024 }
}
