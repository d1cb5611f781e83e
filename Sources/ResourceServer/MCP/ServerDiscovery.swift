import Foundation
import MCP

/// The `server/discover` result (MCP 2026-07-28): "A request from the client asking the server to
/// advertise its supported protocol versions, capabilities, and other metadata. Servers **MUST**
/// implement `server/discover`."
///
/// It says what `initialize` says to a 2025 client, from the same SDK values
/// (`MCPSessionlessServer.capabilities` and `.info`), so the two revisions cannot drift apart.
/// `supportedVersions` lists only the stateless revisions: the client "should choose a version from
/// this list for use in subsequent requests", and a 2025 version cannot be used without `initialize`
/// (the official Python SDK lists its stateless versions only, too). `serverInfo` travels in
/// `_meta`, stamped by `StatelessResultStamp` like on every other 2026-07-28 result.
struct ServerDiscovery: Sendable {
    /// `capabilities`, encoded by the SDK exactly as its `initialize` result encodes them.
    let capabilitiesJSON: Data

    init() {
        capabilitiesJSON = (try? JSONEncoder().encode(MCPSessionlessServer.capabilities)) ?? Data("{}".utf8)
    }

    /// The result object; `StatelessResultStamp` adds `resultType`, the cache hints and `serverInfo`.
    var result: [String: Any] {
        ["supportedVersions": StatelessRequest.revisions,
         "capabilities": (try? JSONSerialization.jsonObject(with: capabilitiesJSON)) ?? [String: Any]()]
    }
}
