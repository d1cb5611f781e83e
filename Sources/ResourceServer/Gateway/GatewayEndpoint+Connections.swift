import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Shared

extension GatewayEndpoint {
    /// The answer instead of the upstream's, when a call needs a connection it cannot have.
    struct ConnectionRefusal: Error {
        let response: Response
    }

    /// The caller's connection tokens for every request to this resource (a stdio process gets
    /// them when it starts, at `initialize`). Only a `tools/call` is stopped for a missing or
    /// broken connection: with `URLElicitationRequired` (-32042) when its session declared URL-mode
    /// elicitation, else with a tool error carrying the connect link; every other method goes on
    /// with the tokens there are.
    func connectionTokens(_ connections: GatewayConnections, envelope: JSONRPCEnvelope?, headers: HTTPFields,
                          identity: VerifiedIdentity, logger: Logger) async throws -> Result<[ConnectionToken], ConnectionRefusal> {
        let resolution = try await connections.resolve(subject: identity.subject, logger: logger)
        let call = envelope.flatMap { $0.kind == .request(method: "tools/call") ? $0.idJSON : nil }
        switch resolution {
        case .tokens(let tokens):
            return .success(tokens)
        case .needed(let needed, let tokens):
            guard let id = call else { return .success(tokens) }
            logger.info("tool call needs a connection", metadata: [
                "event": "connection_needed", "resource": "\(resource.path)", "sub": "\(identity.subject)",
                "connections": "\(needed.map(\.id).joined(separator: ","))",
            ])
            let toolError = ConnectionRefusal(response: connections.toolError(idJSON: id, needed: needed))
            guard let elicitation else { return .failure(toolError) }
            switch await elicitation.support(headers: headers, subject: identity.subject, logger: logger) {
            case .refused(let response):
                return .failure(ConnectionRefusal(response: response))
            case .urlMode:
                let required = try elicitation.required(needed: needed, subject: identity.subject, connectURL: connections.connectURL)
                return .failure(ConnectionRefusal(response: required.response(idJSON: id)))
            case .none:
                return .failure(toolError)
            }
        case .unavailable(let connection):
            guard let id = call else { return .success([]) }
            return .failure(ConnectionRefusal(response: connections.unavailableError(idJSON: id, connection: connection)))
        }
    }
}
