import Hummingbird
import NIOCore

/// The request context of every authorization-server route: Hummingbird's core storage plus the
/// peer address, which login throttling needs.
struct AuthRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let peerAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        peerAddress = source.channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Forms and registrations are small; anything larger is refused before it is read.
    var maxUploadSize: Int { 256 * 1024 }
}
