import Foundation
import Logging
import Shared

/// The caller's connections, as a built-in tool reaches them (issue 12: "the built-in tools reach
/// it through the verified identity"): `identity.connections`. Nothing is read until a tool asks;
/// then it is the gateway's machinery (`GatewayConnections.lookup`): the token refreshed before it
/// expires, one refresh across replicas, a refusal marking the connection broken. The user is the
/// validated token's `sub`, never anything in the call's arguments.
struct CallerConnections: Sendable, CustomStringConvertible {
    /// What one connection is for the caller now.
    enum State: Sendable, Equatable {
        /// Connected, with a token good for at least the refresh window (or of unknown lifetime).
        case connected(ConnectionTokens)
        /// Never connected, or disconnected.
        case missing
        /// The provider refused a refresh (or the token expired with nothing to refresh it with).
        case broken
        /// The token expired and the provider could not be reached: try again later.
        case unavailable
    }

    /// This resource's connections; nil for a resource that names none.
    private let resolver: GatewayConnections?
    private let subject: String
    private let logger: Logger

    /// A resource without `connections:`: every lookup is refused as not configured.
    static let none = CallerConnections(resolver: nil, subject: "", logger: Logger(label: "gatehouse.connections"))

    init(_ resolver: GatewayConnections?, subject: String, logger: Logger) {
        self.init(resolver: resolver, subject: subject, logger: logger)
    }

    private init(resolver: GatewayConnections?, subject: String, logger: Logger) {
        (self.resolver, self.subject, self.logger) = (resolver, subject, logger)
    }

    /// The connections the resource names, in the config file's order.
    var configured: [ConnectionConfiguration] { resolver?.connections ?? [] }

    var description: String { "CallerConnections(\(configured.map(\.id)), sub: \(subject))" }

    /// The caller's state for `connection`, one of `configured`.
    func state(of connection: ConnectionConfiguration) async throws -> State {
        guard let resolver, resolver.connections.contains(connection) else { return .missing }
        // Our tokens' `sub` is the user id; anything else (the benchmark identity) has no connections.
        guard let userID = UUID(uuidString: subject) else { return .missing }
        switch try await resolver.lookup(connection, userID: userID, subject: subject, logger: logger) {
        case .live(let tokens): return .connected(tokens)
        case .missing: return .missing
        case .broken: return .broken
        case .unavailable: return .unavailable
        }
    }

    /// The caller's current access token for the connection `id`, for the tool to call that API
    /// with. Throws `ConnectionNeeded` (which `ToolCatalog` turns into the same tool error with the
    /// connect link as the gateway's) when it is missing, broken or cannot be renewed.
    func token(for id: String) async throws -> String {
        guard let resolver, let connection = resolver.connections.first(where: { $0.id == id }) else {
            throw ConnectionNeeded(message: "This resource has no connection \(id).")
        }
        switch try await state(of: connection) {
        case .connected(let tokens): return tokens.accessToken
        case .missing, .broken: throw ConnectionNeeded(message: resolver.neededText([connection]))
        case .unavailable: throw ConnectionNeeded(message: GatewayConnections.unavailableText(connection))
        }
    }

    /// `connectURL` of the gateway: where the person connects or reconnects.
    func connectURL(_ connection: ConnectionConfiguration) -> String? { resolver?.connectURL(connection) }

    /// The text the person must act on when `needed` are missing or broken.
    func neededText(_ needed: [ConnectionConfiguration]) -> String { resolver?.neededText(needed) ?? "" }
}

/// A built-in tool needed a connection the caller does not have (or whose provider refused it):
/// the call ends as a tool result with `isError` and `message`, never a failed call. The message
/// names the connection and the link; it never holds a token.
struct ConnectionNeeded: Error, Sendable, CustomStringConvertible {
    let message: String
    var description: String { "ConnectionNeeded(\(message))" }
}
