import Foundation

/// The outer shape of one JSON-RPC message, checked before the MCP SDK sees it.
///
/// The SDK's stateless transport matches a response to its HTTP request by id; a message whose id it
/// cannot read would leave the request waiting, and a batch is not valid in MCP since 2025-06-18
/// ("the JSON-RPC batching support was removed"). Checking here turns all of those into a 400 with a
/// JSON-RPC error, and tells the endpoint which tool a `tools/call` targets (for the scope check).
public struct JSONRPCEnvelope: Sendable {
    public enum Kind: Sendable, Equatable {
        case request(method: String)
        case notification(method: String)
        case response
    }

    public struct Invalid: Error, Sendable {
        /// -32700 parse error or -32600 invalid request (JSON-RPC 2.0 §5.1).
        public let code: Int
        public let message: String
    }

    /// The `params._meta` key of an MCP 2026-07-28 (stateless) request's protocol version
    /// (the ResourceServer's `StatelessRequest.protocolVersionKey`).
    public static let protocolVersionMetaKey = "io.modelcontextprotocol/protocolVersion"

    public let kind: Kind
    /// `params.name` of a `tools/call`.
    public let toolName: String?
    /// `params.protocolVersion` of an `initialize`.
    public let requestedProtocolVersion: String?
    /// The request's id as JSON text (`7` or `"abc"`), for answers Gatehouse writes itself.
    public var idJSON: String? = nil
    /// Whether `params.cursor` was sent (a paginated `tools/list`).
    public var hasCursor = false
    /// Whether `params._meta` names `io.modelcontextprotocol/protocolVersion`: an MCP 2026-07-28
    /// (stateless) request, whatever its headers say (`StatelessRequest`).
    public var hasPerRequestProtocolVersion = false

    public var method: String? {
        switch kind {
        case .request(let method), .notification(let method): method
        case .response: nil
        }
    }

    public static func parse(_ body: Data) throws(Invalid) -> JSONRPCEnvelope {
        guard !containsRawControlCharacterInString(body) else {
            throw Invalid(code: -32700, message: "Parse error: a control character in a string must be escaped")
        }
        // RFC 8259 §8.1: "JSON text exchanged between systems that are not part of a closed ecosystem
        // MUST be encoded using UTF-8". `JSONDecoder` let invalid bytes in a string through (FuzzJSONRPC).
        guard String(validating: body, as: UTF8.self) != nil else {
            throw Invalid(code: -32700, message: "Parse error: the body is not UTF-8")
        }
        // `JSONDecoder` checks a number only when it decodes it, so `"code": 2316-0` in a member the
        // envelope never reads passed (FuzzJSONRPC): the whole text must be JSON first.
        guard (try? JSONSerialization.jsonObject(with: body, options: [.fragmentsAllowed])) != nil else {
            throw Invalid(code: -32700, message: "Parse error: the body is not JSON")
        }
        // RFC 8259 §4: "The names within an object SHOULD be unique", and "when the names within an
        // object are not unique, the behavior of software that receives such an object is
        // unpredictable". `JSONDecoder` (the envelope, the SDK) keeps the first of two `method`s,
        // `JSONSerialization` (`StatelessRequest`) the last, so the method or tool whose scope is
        // checked could differ from the one that runs (FuzzJSONRPC). Refused at every depth.
        if let repeated = firstRepeatedMemberName(body) {
            throw Invalid(code: -32600, message: "Invalid Request: the member \"\(repeated.prefix(64))\" appears twice in one object")
        }
        let message: Message
        do {
            message = try JSONDecoder().decode(Message.self, from: body)
        } catch let error as Invalid {
            throw error
        } catch DecodingError.dataCorrupted(let context) where context.codingPath.isEmpty {
            throw Invalid(code: -32700, message: "Parse error: the body is not a JSON object")
        } catch DecodingError.typeMismatch(_, let context) where context.codingPath.isEmpty {
            throw Invalid(code: -32600, message: "Invalid Request: expected one JSON-RPC object (batches are not supported)")
        } catch {
            throw Invalid(code: -32600, message: "Invalid Request: not a JSON-RPC 2.0 message")
        }
        guard message.jsonrpc == "2.0" else { throw Invalid(code: -32600, message: "Invalid Request: jsonrpc must be \"2.0\"") }
        guard let method = message.method else {
            guard message.hasID, message.hasResultOrError else {
                throw Invalid(code: -32600, message: "Invalid Request: no method")
            }
            return JSONRPCEnvelope(kind: .response, toolName: nil, requestedProtocolVersion: nil)
        }
        guard !method.isEmpty else { throw Invalid(code: -32600, message: "Invalid Request: empty method") }
        // JSON-RPC 2.0 §4 and §5: a request has a method, a response a result or an error. The SDK
        // reads a message with both as a response to a request it never sent and never answers it,
        // so the HTTP request would hang (found by schemathesis, docs/testing.md).
        guard !message.hasResultOrError else {
            throw Invalid(code: -32600, message: "Invalid Request: a request carries no result or error")
        }
        return JSONRPCEnvelope(
            kind: message.hasID ? .request(method: method) : .notification(method: method),
            toolName: method == "tools/call" ? message.params?.name : nil,
            requestedProtocolVersion: method == "initialize" ? message.params?.protocolVersion : nil,
            idJSON: message.idJSON, hasCursor: message.params?.cursor != nil,
            hasPerRequestProtocolVersion: message.params?.hasPerRequestProtocolVersion == true)
    }

    /// RFC 8259 §7: "All Unicode characters may be placed within the quotation marks, except for the
    /// characters that MUST be escaped: quotation mark, reverse solidus, and the control characters
    /// (U+0000 through U+001F)." `JSONDecoder` accepts them raw (`JSONSerialization` does not), so a
    /// body with a raw NUL in a method or tool name passed (the FuzzJSONRPC harness, docs/testing.md).
    static func containsRawControlCharacterInString(_ body: Data) -> Bool {
        var inString = false
        var escaped = false
        for byte in body {
            if inString {
                if byte < 0x20 { return true }
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
            } else if byte == UInt8(ascii: "\"") {
                inString = true
            }
        }
        return false
    }

    /// The first member name that occurs twice in one object, anywhere in `body`, compared after
    /// unescaping (`"method"` and `"m\u0065thod"` are one name). `body` must already be valid JSON:
    /// strings are skipped whole, so a brace inside one is never counted.
    static func firstRepeatedMemberName(_ body: Data) -> String? {
        enum Frame { case object(names: Set<String>, expectingName: Bool), array }
        var stack: [Frame] = []
        let bytes = [UInt8](body)
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let start = index
                var hasEscape = false
                index += 1
                while index < bytes.count, bytes[index] != UInt8(ascii: "\"") {
                    if bytes[index] == UInt8(ascii: "\\") { hasEscape = true; index += 1 }
                    index += 1
                }
                if case .object(var names, true)? = stack.last {
                    let raw = bytes[start...min(index, bytes.count - 1)]
                    let name = hasEscape
                        ? ((try? JSONDecoder().decode(String.self, from: Data(raw))) ?? String(decoding: raw, as: UTF8.self))
                        : String(decoding: raw.dropFirst().dropLast(), as: UTF8.self)
                    guard names.insert(name).inserted else { return name }
                    stack[stack.count - 1] = .object(names: names, expectingName: false)
                }
            case UInt8(ascii: "{"): stack.append(.object(names: [], expectingName: true))
            case UInt8(ascii: "["): stack.append(.array)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): _ = stack.popLast()
            case UInt8(ascii: ","):
                if case .object(let names, false)? = stack.last { stack[stack.count - 1] = .object(names: names, expectingName: true) }
            default: break
            }
            index += 1
        }
        return nil
    }

    /// Decoded with `JSONDecoder`, like the SDK's own `Server`, so both agree on what an id is.
    private struct Message: Decodable {
        struct Params: Decodable {
            var name: String?
            var protocolVersion: String?
            var cursor: String?
            var hasPerRequestProtocolVersion = false

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                name = try? container.decodeIfPresent(String.self, forKey: .name)
                protocolVersion = try? container.decodeIfPresent(String.self, forKey: .protocolVersion)
                cursor = container.contains(.cursor) ? ((try? container.decode(String.self, forKey: .cursor)) ?? "") : nil
                if container.contains(._meta), let meta = try? container.nestedContainer(keyedBy: MetaKey.self, forKey: ._meta) {
                    hasPerRequestProtocolVersion = meta.contains(MetaKey(stringValue: JSONRPCEnvelope.protocolVersionMetaKey))
                }
            }

            enum CodingKeys: String, CodingKey { case name, protocolVersion, cursor, _meta }

            struct MetaKey: CodingKey {
                let stringValue: String
                init(stringValue: String) { self.stringValue = stringValue }
                var intValue: Int? { nil }
                init?(intValue: Int) { nil }
            }
        }

        var jsonrpc: String?
        var method: String?
        var params: Params?
        var hasID: Bool
        var hasResultOrError: Bool
        var idJSON: String?

        enum CodingKeys: String, CodingKey { case jsonrpc, method, params, id, result, error }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            jsonrpc = try container.decodeIfPresent(String.self, forKey: .jsonrpc)
            method = try container.decodeIfPresent(String.self, forKey: .method)
            // "params … MUST be an object" in MCP (JSON-RPC also allows arrays; no MCP method uses them).
            params = try container.decodeIfPresent(Params.self, forKey: .params)
            hasID = container.contains(.id)
            if hasID { idJSON = try Self.checkID(container) }
            hasResultOrError = container.contains(.result) || container.contains(.error)
        }

        /// MCP (Basic, Requests): "Requests MUST include a string or integer ID" and "the ID MUST NOT be null".
        private static func checkID(_ container: KeyedDecodingContainer<CodingKeys>) throws -> String {
            if let string = try? container.decode(String.self, forKey: .id), !string.isEmpty,
               let encoded = try? JSONEncoder().encode(string) {
                return String(decoding: encoded, as: UTF8.self)
            }
            if let number = try? container.decode(Int.self, forKey: .id) { return String(number) }
            throw Invalid(code: -32600, message: "Invalid Request: id must be a non-empty string or an integer")
        }
    }
}
