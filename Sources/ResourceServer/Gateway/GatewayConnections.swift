import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

/// One connection's current access token for one call, as the upstream receives it. Prints
/// without the token.
struct ConnectionToken: Sendable, Equatable, CustomStringConvertible {
    let connectionID: String
    let value: String

    /// `X-Gatehouse-Connection-<id>` for an HTTP upstream.
    var headerName: String { "X-Gatehouse-Connection-\(connectionID)" }
    /// `GATEHOUSE_CONNECTION_<ID>_TOKEN` for a stdio upstream.
    var environmentVariable: String { ConnectionConfiguration.environmentVariable(for: connectionID) }

    var description: String { "ConnectionToken(\(connectionID), <redacted>)" }
}

/// The connections of one gateway resource (`connections:`, issue 12): before a request goes
/// upstream, the caller's current token for each, refreshed by `UserConnectionStore.current`
/// when it expires within `refreshWindow` (one refresh across all replicas). A `tools/call` that
/// needs a connection the user has not made, or whose provider refused the refresh, gets a tool
/// result with `isError` and the link to connect instead of reaching the upstream.
struct GatewayConnections: Sendable {
    let connections: [ConnectionConfiguration]
    let clients: [String: ConnectionTokenClient]
    let store: UserConnectionStore
    /// The AuthServer, where `/connections/<id>/connect` is.
    let issuer: String
    let clock: Clock
    static let refreshWindow: TimeInterval = 60

    enum Resolution: Sendable {
        case tokens([ConnectionToken])
        /// These connections are missing or broken (the others' tokens are there).
        case needed([ConnectionConfiguration], tokens: [ConnectionToken])
        /// A token expired and its provider could not be reached.
        case unavailable(ConnectionConfiguration)
    }

    /// The caller's tokens. `subject` is the user id (the `sub` of our tokens and API keys).
    func resolve(subject: String, logger: Logger) async throws -> Resolution {
        guard let userID = UUID(uuidString: subject) else { return .needed(connections, tokens: []) }
        var tokens: [ConnectionToken] = []
        var needed: [ConnectionConfiguration] = []
        for connection in connections where clients[connection.id] != nil {
            switch try await lookup(connection, userID: userID, subject: subject, logger: logger) {
            case .live(let current): tokens.append(ConnectionToken(connectionID: connection.id, value: current.accessToken))
            case .missing, .broken: needed.append(connection)
            case .unavailable: return .unavailable(connection)
            }
        }
        return needed.isEmpty ? .tokens(tokens) : .needed(needed, tokens: tokens)
    }

    /// One connection of the caller (`userID`, whose `sub` is `subject`), refreshed first when it
    /// expires within `refreshWindow`; the gateway's `resolve` and the built-in tools'
    /// `CallerConnections` both come here. A connection without a client reads as missing.
    func lookup(_ connection: ConnectionConfiguration, userID: UUID, subject: String,
                logger: Logger) async throws -> UserConnectionStore.Lookup {
        guard let client = clients[connection.id] else { return .missing }
        let lookup = try await store.current(userID: userID, connectionID: connection.id, now: clock.now(),
                                             window: Self.refreshWindow) { refreshToken in
            let outcome = await client.refresh(refreshToken)
            switch outcome {
            case .tokens: logger.debug("connection token refreshed", metadata: ["connection": "\(connection.id)", "sub": "\(subject)"])
            case .refused(let error):
                logger.notice("connection refresh refused: the user must connect again", metadata: [
                    "event": "connection_broken", "connection": "\(connection.id)", "sub": "\(subject)", "error": "\(error)",
                ])
            case .failed(let reason):
                logger.warning("connection refresh failed", metadata: [
                    "connection": "\(connection.id)", "sub": "\(subject)", "reason": "\(reason)",
                ])
            }
            return outcome
        }
        if case .unavailable(let reason) = lookup {
            logger.warning("connection token could not be refreshed", metadata: [
                "connection": "\(connection.id)", "sub": "\(subject)", "reason": "\(reason)",
            ])
        }
        return lookup
    }

    /// `<issuer>/connections/<id>/connect`: the AuthServer page that starts the connection.
    func connectURL(_ connection: ConnectionConfiguration) -> String { issuer + "/connections/\(connection.id)/connect" }

    /// MCP tools: "Tool Execution Errors … reported in tool results with isError: true" so the
    /// model (and the person) can act on them: here, by opening the link.
    func toolError(idJSON: String, needed: [ConnectionConfiguration]) -> Response {
        Self.response(toolErrorBody(idJSON: idJSON, needed: needed))
    }

    func toolErrorBody(idJSON: String, needed: [ConnectionConfiguration]) -> String {
        Self.toolResult(idJSON: idJSON, text: neededText(needed))
    }

    /// The text of that tool error, also the built-in tools' (`CallerConnections`).
    func neededText(_ needed: [ConnectionConfiguration]) -> String {
        let lines = needed.map { "Connect your \($0.name) account first: \(connectURL($0))" }
        return lines.joined(separator: "\n") + "\nThen call the tool again."
    }

    func unavailableError(idJSON: String, connection: ConnectionConfiguration) -> Response {
        Self.response(Self.toolResult(idJSON: idJSON, text: Self.unavailableText(connection)))
    }

    static func unavailableText(_ connection: ConnectionConfiguration) -> String {
        "\(connection.name) could not be reached to renew your connection. Try again in a moment."
    }

    /// A JSON-RPC result `{content: [{type: text, text}], isError: true}` for the request `idJSON`.
    static func toolResult(idJSON: String, text: String) -> String {
        let content = String(decoding: try! JSONSerialization.data(withJSONObject: ["type": "text", "text": text]), as: UTF8.self)
        return #"{"jsonrpc":"2.0","id":\#(idJSON),"result":{"content":[\#(content)],"isError":true}}"#
    }

    static func response(_ body: String) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
