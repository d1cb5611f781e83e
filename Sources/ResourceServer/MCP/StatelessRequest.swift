import Foundation
import HTTPTypes
import Shared

/// One POST in MCP 2026-07-28, the stateless revision, whose validation ladder has passed.
///
/// 2026-07-28 drops the `initialize` handshake: every request names its protocol version and the
/// client's capabilities in `params._meta` ("Capabilities are declared per-request rather than once
/// at initialization … Servers MUST NOT infer capabilities from prior requests"), and the HTTP
/// transport mirrors the routing facts into headers that must agree with the body. The rungs and
/// their order are the official Python SDK's (`classify_inbound_request` in `mcp/shared/inbound.py`,
/// plus the transport's duplicate-header and notification checks); the first failure answers:
///
/// | rung                                                             | failure                     |
/// |------------------------------------------------------------------|-----------------------------|
/// | a request or a notification, not a response                      | 400 -32600                  |
/// | notification: MCP-Protocol-Version names a revision we serve     | 400 -32022 (else 202)       |
/// | MCP-Protocol-Version, Mcp-Method, Mcp-Name at most once each     | 400 -32020 HeaderMismatch   |
/// | `params._meta` has protocolVersion and clientCapabilities        | 400 -32602                  |
/// | MCP-Protocol-Version equals the `_meta` protocol version          | 400 -32020                  |
/// | Mcp-Method equals `method`                                        | 400 -32020                  |
/// | Mcp-Name equals `params.name` (tools/call, prompts/get) or `params.uri` (resources/read), when the body has one | 400 -32020 |
/// | the version is one we serve                                       | 400 -32022, `data.supported` |
///
/// `Mcp-Param-*` headers mirror arguments whose input schema declares `x-mcp-header`; no built-in
/// tool declares one, so there is nothing further to compare.
struct StatelessRequest: Sendable, Equatable {
    static let revision = "2026-07-28"
    /// The stateless revisions served; `server/discover` lists these.
    static let revisions = [revision]
    static let protocolVersionKey = JSONRPCEnvelope.protocolVersionMetaKey
    static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    /// Method → the `params` member that `Mcp-Name` mirrors.
    static let nameBearingMethods = ["tools/call": "name", "prompts/get": "name", "resources/read": "uri"]

    enum Kind: Sendable, Equatable {
        case request(method: String, idJSON: String)
        /// The revision defines no client-to-server notifications over HTTP (a client cancels by
        /// closing the stream); like the Python SDK, acknowledged with 202 and dropped.
        case notification
    }

    let kind: Kind
    let protocolVersion: String

    /// Whether a POST takes the stateless path: its MCP-Protocol-Version names the revision, or its
    /// body carries the per-request version key (a prefix reserved by the spec, so no 2025 client
    /// sends it); the ladder then refuses a missing or different header instead of guessing 2025.
    static func applies(to headers: HTTPFields, envelope: JSONRPCEnvelope) -> Bool {
        envelope.hasPerRequestProtocolVersion || headers[.mcpProtocolVersion].map(revisions.contains) == true
    }

    static func validate(_ envelope: JSONRPCEnvelope, body: Data, headers: HTTPFields) -> Result<StatelessRequest, StatelessRejection> {
        switch envelope.kind {
        case .response:
            return .failure(StatelessRejection(code: StatelessRejection.Code.invalidRequest,
                                               message: "Body must be a single JSON-RPC request or notification object"))
        case .notification:
            let requested = headers[.mcpProtocolVersion] ?? ""
            guard revisions.contains(requested) else {
                return .failure(.unsupportedProtocolVersion(requested, supported: revisions))
            }
            return .success(StatelessRequest(kind: .notification, protocolVersion: requested))
        case .request(let method):
            let id = envelope.idJSON ?? "null"
            return validateRequest(method: method, id: id, body: body, headers: headers)
                .map { StatelessRequest(kind: .request(method: method, idJSON: id), protocolVersion: $0) }
        }
    }

    /// The request rungs; returns the protocol version.
    private static func validateRequest(method: String, id: String, body: Data, headers: HTTPFields) -> Result<String, StatelessRejection> {
        for name in [HTTPField.Name.mcpProtocolVersion, .mcpMethod, .mcpName] where headers[values: name].count > 1 {
            return .failure(.headerMismatch("\(name.canonicalName) header appears more than once", id: id))
        }
        let params = ((try? JSONSerialization.jsonObject(with: body)) as? [String: Any])?["params"] as? [String: Any]
        guard let meta = params?["_meta"] as? [String: Any] else {
            return .failure(StatelessRejection(
                code: StatelessRejection.Code.invalidParams,
                message: "params._meta must be an object carrying the required '\(protocolVersionKey)' and '\(clientCapabilitiesKey)' envelope keys",
                idJSON: id))
        }
        let missing = [protocolVersionKey, clientCapabilitiesKey].filter { meta[$0] == nil }
        guard missing.isEmpty else {
            return .failure(StatelessRejection(
                code: StatelessRejection.Code.invalidParams,
                message: "params._meta is missing the required envelope key(s): \(missing.joined(separator: ", "))", idJSON: id))
        }
        let version = meta[protocolVersionKey] as? String
        guard let header = headers[.mcpProtocolVersion], header == version else {
            return .failure(.headerMismatch("MCP-Protocol-Version header does not match the request envelope's protocol version", id: id))
        }
        guard headers[.mcpMethod] == method else {
            return .failure(.headerMismatch("Mcp-Method header does not match the request body's method", id: id))
        }
        if let key = nameBearingMethods[method], let value = params?[key], !(value is NSNull) {
            guard let header = headers[.mcpName].flatMap(decodeHeaderValue), header == value as? String else {
                return .failure(.headerMismatch("Mcp-Name header does not match the request body's '\(key)' parameter", id: id))
            }
        }
        guard revisions.contains(header) else {
            return .failure(.unsupportedProtocolVersion(header, supported: revisions, id: id))
        }
        return .success(header)
    }

    /// MCP 2026-07-28 transports: a header value that is not plain printable ASCII is sent as
    /// `=?base64?<base64 of the UTF-8 bytes>?=`. A malformed or non-canonical sentinel decodes to nil,
    /// so it never matches a body value by accident.
    static func decodeHeaderValue(_ value: String) -> String? {
        let prefix = "=?base64?", suffix = "?="
        guard value.hasPrefix(prefix), value.hasSuffix(suffix), value.utf8.count >= prefix.utf8.count + suffix.utf8.count else {
            return value
        }
        let payload = String(value.dropFirst(prefix.count).dropLast(suffix.count))
        guard let bytes = Data(base64Encoded: payload), bytes.base64EncodedString() == payload else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}

extension HTTPField.Name {
    static let mcpMethod = HTTPField.Name("Mcp-Method")!
    static let mcpName = HTTPField.Name("Mcp-Name")!
}
