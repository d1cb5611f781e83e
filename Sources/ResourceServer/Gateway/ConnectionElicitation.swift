import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Shared

/// What a gateway resource with `connections:` needs to send a refused call's client to the
/// connect page through URL-mode elicitation (MCP 2025-11-25, Client: Elicitation) instead of a
/// tool error: the session binding, to read what the client declared at `initialize` from its
/// sealed `Mcp-Session-Id`, and the link binding, so the page can check the person who opens the
/// link is the user the call was for (`ConnectLinkBinding`).
struct ConnectionElicitation: Sendable {
    let sessions: GatewaySessionBinding
    let links: ConnectLinkBinding
    /// The resource identifier the session ids are sealed for.
    let resource: String
    let clock: Clock

    /// How a refused call's client can be sent to the connect page.
    enum Support {
        /// Its session declared URL-mode elicitation and speaks 2025-11-25: `URLElicitationRequired`.
        case urlMode
        /// Anything else (no session, no such capability, another revision): the tool error.
        case none
        /// The session id does not verify (404, as the upstream would answer), or its key cannot be read (503).
        case refused(Response)
    }

    /// From the sealed session id (`GatewaySessionBinding.Features`) and the `MCP-Protocol-Version`
    /// of this request: URL-mode elicitation and -32042 exist in 2025-11-25 only (2026-07-28
    /// retired the error), and a sessionless client (no `Mcp-Session-Id`) has nowhere the
    /// capability could have been kept.
    func support(headers: HTTPFields, subject: String, logger: Logger) async -> Support {
        guard let presented = headers[UpstreamHeaders.mcpSessionID] else { return .none }
        let session: GatewaySessionBinding.Session?
        do {
            session = try await sessions.session(presented, resource: resource, subject: subject)
        } catch {
            logger.error("gateway session key unavailable", metadata: ["error": "\(error)"])
            return .refused(UpstreamFailure.unavailable())
        }
        guard let session else {
            logger.info("session id refused: not issued to this user for this resource", metadata: ["sub": "\(subject)"])
            return .refused(UpstreamFailure.sessionNotFound())
        }
        guard session.features.contains(.urlElicitation),
              headers[UpstreamHeaders.mcpProtocolVersion] == URLElicitationRequired.protocolVersion
        else { return .none }
        return .urlMode
    }

    /// One elicitation per needed connection: the connect link with `?elicitation=<token>` bound
    /// to the caller, the token doubling as the `elicitationId`. A caller whose subject is no user
    /// id (none of our tokens) gets the plain link and a random id.
    func required(needed: [ConnectionConfiguration], subject: String,
                  connectURL: (ConnectionConfiguration) -> String) throws -> URLElicitationRequired {
        let userID = UUID(uuidString: subject)
        let now = clock.now()
        return URLElicitationRequired(elicitations: try needed.map { connection in
            let message = "Connect your \(connection.name) account to use this tool."
            guard let userID else {
                return .init(elicitationID: UUID().uuidString.lowercased(), url: connectURL(connection), message: message)
            }
            let token = try links.token(userID: userID, connectionID: connection.id, now: now)
            return .init(elicitationID: token, url: connectURL(connection) + "?\(ConnectLinkBinding.parameter)=\(token)",
                         message: message)
        })
    }
}
