import Foundation
import FuzzSupport
import Shared

// libFuzzer harness for `JSONRPCEnvelope.parse`, the check every `/mcp` body passes before the
// MCP SDK sees it. One input is one request body. Built and run only by scripts/fuzz.sh
// (docs/testing.md "Fuzzing").
//
// Invariants, each a crash when broken:
// - a refusal is -32700 (not JSON at all) or -32600, never anything else;
// - an accepted body is one JSON object with `"jsonrpc": "2.0"`, as JSONSerialization reads it;
// - a request has a non-empty method, an id that is a non-empty string or an integer, given back
//   as JSON text that reads as the same id, and no result or error;
// - a notification has a method and no id; a response has an id and a result or error;
// - only `tools/call` names a tool and only `initialize` a protocol version, each the body's own.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRPC(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let body = Data(UnsafeBufferPointer(start: data, count: size))
    let independent = try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])
    let envelope: JSONRPCEnvelope
    do {
        envelope = try JSONRPCEnvelope.parse(body)
    } catch {
        require(error.code == -32700 || error.code == -32600, "refused with code \(error.code)")
        if error.code == -32700 { require(!(independent is [String: Any]), "a JSON object was called a parse error") }
        return 0
    }
    guard let object = independent as? [String: Any] else {
        require(false, "accepted a body that is not one JSON object")
        return 0
    }
    require(object["jsonrpc"] as? String == "2.0", "accepted jsonrpc \(String(describing: object["jsonrpc"]))")
    let hasResultOrError = object["result"] != nil || object["error"] != nil
    switch envelope.kind {
    case .request(let method):
        require(!method.isEmpty && object["method"] as? String == method, "request method \(method.debugDescription) is not the body's")
        require(!hasResultOrError, "a request with a result or error")
        guard let idJSON = envelope.idJSON else { require(false, "a request without an id"); return 0 }
        if let text = try? JSONDecoder().decode(String.self, from: Data(idJSON.utf8)) {
            require(!text.isEmpty && object["id"] as? String == text, "request id \(idJSON) is not the body's")
        } else if let number = Int(idJSON) {
            require(object["id"] is NSNumber && (object["id"] as? NSNumber)?.doubleValue == Double(number),
                    "request id \(idJSON) is not the body's integer")
        } else {
            require(false, "request id \(idJSON) is neither a string nor an integer")
        }
    case .notification(let method):
        require(!method.isEmpty && object["method"] as? String == method, "notification method is not the body's")
        require(object["id"] == nil && envelope.idJSON == nil, "a notification with an id")
        require(!hasResultOrError, "a notification with a result or error")
    case .response:
        require(envelope.method == nil && object["method"] == nil, "a response with a method")
        require(object["id"] != nil && hasResultOrError, "a response without an id, or without a result or error")
    }
    let params = object["params"] as? [String: Any]
    if let tool = envelope.toolName {
        require(envelope.method == "tools/call" && params?["name"] as? String == tool, "tool name \(tool.debugDescription) is not the body's")
    }
    if let version = envelope.requestedProtocolVersion {
        require(envelope.method == "initialize" && params?["protocolVersion"] as? String == version, "protocol version is not the body's")
    }
    if envelope.hasPerRequestProtocolVersion {
        require((params?["_meta"] as? [String: Any])?[JSONRPCEnvelope.protocolVersionMetaKey] != nil, "per-request version without _meta key")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see `runLibFuzzer`).
@_cdecl("FuzzJSONRPC_main")
func fuzzJSONRPCMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzJSONRPC)
}
