import Foundation

/// What MCP 2026-07-28 adds to every result, applied to the answers of the SDK (which speaks 2025).
///
/// - `resultType`: "Servers implementing this protocol version MUST include this field" (`complete`
///   for all of ours; `input_required` is for servers that ask the client for more).
/// - `ttlMs` and `cacheScope` on the cacheable results (SEP-2549). `server/discover` and `tools/list`
///   are the same for every caller (every tool is listed to everyone; scopes decide calls) and
///   change only with a release, so they are `public` for five minutes.
/// - `_meta["io.modelcontextprotocol/serverInfo"]`: "Servers SHOULD include this field on every
///   response", with the name, version and title `initialize` gives a 2025 client.
struct StatelessResultStamp: Sendable {
    static let serverInfoKey = "io.modelcontextprotocol/serverInfo"
    static let cacheableMethods: Set<String> = ["server/discover", "tools/list"]
    static let cacheTTLMilliseconds = 300_000

    let serverInfo: [String: String]

    init(server: MCPSessionlessServer) {
        let info = server.info
        var fields = ["name": info.name, "version": info.version]
        fields["title"] = info.title
        serverInfo = fields
    }

    /// Fields the result already has win, as in the Python SDK (`ServerRunner._serialize`).
    func stamp(_ result: [String: Any], method: String) -> [String: Any] {
        var result = result
        if Self.cacheableMethods.contains(method) {
            if result["ttlMs"] == nil { result["ttlMs"] = Self.cacheTTLMilliseconds }
            if result["cacheScope"] == nil { result["cacheScope"] = "public" }
        }
        if result["resultType"] == nil || result["resultType"] is NSNull { result["resultType"] = "complete" }
        switch result["_meta"] {
        case nil, is NSNull:
            result["_meta"] = [Self.serverInfoKey: serverInfo]
        case var meta as [String: Any]:
            if meta[Self.serverInfoKey] == nil || meta[Self.serverInfoKey] is NSNull { meta[Self.serverInfoKey] = serverInfo }
            result["_meta"] = meta
        default:
            break
        }
        return result
    }
}
