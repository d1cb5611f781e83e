import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Shared

extension GatewayEndpoint {
    /// The answer instead of the upstream's, when a call needs a connection it cannot have.
    struct ConnectionRefusal: Error {
        let response: Response
    }

    /// The caller's connection tokens for every request to this resource (a stdio process gets
    /// them when it starts, at `initialize`). Only a `tools/call` is stopped for a missing or
    /// broken connection, with a tool error carrying the connect link; every other method goes
    /// on with the tokens there are.
    func connectionTokens(_ connections: GatewayConnections, body: ByteBuffer, identity: VerifiedIdentity,
                          logger: Logger) async throws -> Result<[ConnectionToken], ConnectionRefusal> {
        let resolution = try await connections.resolve(subject: identity.subject, logger: logger)
        let call = body.readableBytes > 0
            ? (try? JSONRPCEnvelope.parse(Data(buffer: body, byteTransferStrategy: .noCopy))).flatMap { envelope in
                envelope.kind == .request(method: "tools/call") ? envelope.idJSON : nil
            }
            : nil
        switch resolution {
        case .tokens(let tokens):
            return .success(tokens)
        case .needed(let needed, let tokens):
            guard let id = call else { return .success(tokens) }
            logger.info("tool call needs a connection", metadata: [
                "event": "connection_needed", "resource": "\(resource.path)", "sub": "\(identity.subject)",
                "connections": "\(needed.map(\.id).joined(separator: ","))",
            ])
            return .failure(ConnectionRefusal(response: connections.toolError(idJSON: id, needed: needed)))
        case .unavailable(let connection):
            guard let id = call else { return .success([]) }
            return .failure(ConnectionRefusal(response: connections.unavailableError(idJSON: id, connection: connection)))
        }
    }
}
