import Foundation
import Logging
import MCP
import Shared

/// `tools/call` of the built-in tools, answered without a per-request SDK `Server`.
///
/// Why: swift-sdk 0.12.1's `Value` decoder builds and compiles a RegexBuilder regex for every
/// string it decodes (`Data.isDataURL`), and a call through the SDK's server decodes the request
/// more than once, so a `notes_add` paid about 1.5 ms of CPU in regex compilation alone, several
/// times the tool's own work (docs/benchmarks.md, "tools/call"). Here the arguments are decoded
/// once, by `PlainValue`, which is the SDK's decoder without the data-URL guess (a string argument
/// stays a string: a note that happens to start with `data:` is still text), and the answer is
/// encoded with the SDK's own `Codable` types, so the wire format is the SDK's.
///
/// Only what the SDK would answer the same way is taken: a well-formed call of a tool we have.
/// Anything else (an unknown tool, a body that does not decode) returns nil and goes to the SDK,
/// which answers the JSON-RPC error it always has; nothing has run by then.
struct DirectToolCall: Sendable {
    let tools: ToolCatalog

    func respond(body: Data, idJSON: String, as identity: VerifiedIdentity, logger: Logger) async -> MCP.HTTPResponse? {
        guard let request = try? JSONDecoder().decode(CallRequest.self, from: body),
              tools.definition(named: request.params.name) != nil
        else { return nil }
        let parameters = CallTool.Parameters(name: request.params.name, arguments: request.params.arguments?.mapValues(\.value),
                                             meta: request.params._meta)
        let member: String
        let encoded: Data
        do {
            let result = try await tools.call(parameters, as: identity, logger: logger)
            // Written directly when it can be (ToolResultJSON: a JSONEncoder pass was 15 % of a call's CPU).
            encoded = try ToolResultJSON.encode(result).map { Data($0) } ?? Self.encoder.encode(result)
            member = "result"
        } catch let error as MCPError {
            guard let data = try? Self.encoder.encode(error) else { return nil }
            (member, encoded) = ("error", data)
        } catch {
            guard let data = try? Self.encoder.encode(MCPError.internalError("the tool failed")) else { return nil }
            (member, encoded) = ("error", data)
        }
        var answer = Data("{\"jsonrpc\":\"2.0\",\"id\":\(idJSON),\"\(member)\":".utf8)
        answer.append(encoded)
        answer.append(UInt8(ascii: "}"))
        return .data(answer, headers: ["Content-Type": "application/json"])
    }

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    private struct CallRequest: Decodable {
        struct Params: Decodable {
            let name: String
            let arguments: [String: PlainValue]?
            let _meta: Metadata?  // swiftlint:disable:this identifier_name
        }
        let params: Params
    }
}

/// The SDK's `Value` decoding (null, bool, int, double, string, array, object, in that order),
/// minus its guess that a string of the form `data:…,…` is binary data.
struct PlainValue: Decodable, Sendable {
    let value: Value

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            value = .null
        } else if let bool = try? container.decode(Bool.self) {
            value = .bool(bool)
        } else if let int = try? container.decode(Int.self) {
            value = .int(int)
        } else if let double = try? container.decode(Double.self) {
            value = .double(double)
        } else if let string = try? container.decode(String.self) {
            value = .string(string)
        } else if let array = try? container.decode([PlainValue].self) {
            value = .array(array.map(\.value))
        } else if let object = try? container.decode([String: PlainValue].self) {
            value = .object(object.mapValues(\.value))
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "Value type not found")
        }
    }
}
