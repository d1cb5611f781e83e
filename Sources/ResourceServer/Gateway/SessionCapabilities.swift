import Foundation
import NIOCore
import NIOFoundationCompat

/// What a client declares in its `initialize` that the gateway itself acts on later in the
/// session, as the `GatewaySessionBinding.Features` sealed into the session id.
///
/// MCP 2025-11-25 (Client: Elicitation, Capabilities): clients that support elicitation "MUST
/// declare the `elicitation` capability during initialization", as `{"form": {}, "url": {}}`, and
/// "for backwards compatibility, an empty capabilities object is equivalent to declaring support
/// for `form` mode only". So only a present `capabilities.elicitation.url` object counts: an empty
/// `elicitation: {}`, a `url` that is not an object, or no `elicitation` at all is no URL mode
/// ("Servers MUST NOT send elicitation requests with modes that are not supported by the client").
enum SessionCapabilities {
    /// The features of the `initialize` request `body` (the envelope has already accepted it as one
    /// JSON-RPC object without repeated member names, so this reading agrees with the upstream's).
    static func features(ofInitialize body: ByteBuffer) -> GatewaySessionBinding.Features {
        guard let message = (try? JSONSerialization.jsonObject(with: Data(buffer: body, byteTransferStrategy: .noCopy)))
                as? [String: Any],
              let params = message["params"] as? [String: Any],
              let capabilities = params["capabilities"] as? [String: Any],
              let elicitation = capabilities["elicitation"] as? [String: Any]
        else { return [] }
        return elicitation["url"] is [String: Any] ? .urlElicitation : []
    }
}
