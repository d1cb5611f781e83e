import Foundation
import Logging
import MCP
import Shared

/// The `tools/list` answer, produced once by the SDK and then reused with each request's id.
///
/// Why: the list never changes while the process runs, and swift-sdk 0.12.1 spends most of a
/// request on it — its `Value` decoder builds and compiles a RegexBuilder regex for every string in
/// the result (`Data.isDataURL`), about 1.5 ms of CPU for our five tool schemas. The SDK still
/// writes the cached result, so clients see exactly what it would have sent; only the id differs.
actor ToolListCache {
    private let server: MCPSessionlessServer
    private var cached: (result: Data, headers: [String: String])?

    init(server: MCPSessionlessServer) {
        self.server = server
    }

    /// The answer for a `tools/list` request with this id (JSON text), or nil when the SDK's own
    /// answer could not be captured (the caller then asks the SDK directly).
    func response(idJSON: String, logger: Logger) async -> MCP.HTTPResponse? {
        guard let cached = await prime(logger: logger) else { return nil }
        var body = Data("{\"jsonrpc\":\"2.0\",\"id\":\(idJSON),\"result\":".utf8)
        body.append(cached.result)
        body.append(UInt8(ascii: "}"))
        return .data(body, headers: cached.headers)
    }

    private func prime(logger: Logger) async -> (result: Data, headers: [String: String])? {
        if let cached { return cached }
        let request = MCP.HTTPRequest(
            method: "POST",
            headers: ["content-type": "application/json", "accept": "application/json, text/event-stream"],
            body: Data(#"{"jsonrpc":"2.0","id":"gatehouse-tool-list","method":"tools/list"}"#.utf8), path: "/mcp")
        let nobody = VerifiedIdentity(subject: "", clientID: "", scopes: ScopeSet(tokens: []), tokenID: "")
        guard let response = try? await server.handle(request, as: nobody, logger: logger), response.statusCode == 200,
              let data = response.bodyData,
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any], let result = object["result"],
              let resultData = try? JSONSerialization.data(withJSONObject: result, options: [.withoutEscapingSlashes])
        else {
            logger.warning("could not capture the SDK's tools/list answer; answering each request through the SDK")
            return nil
        }
        var headers = response.headers
        headers["Content-Length"] = nil
        headers["content-length"] = nil
        cached = (resultData, headers)
        return cached
    }
}
