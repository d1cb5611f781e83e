import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import Shared

/// A resource served by a command Gatehouse spawns (`upstream.stdio`): the Streamable HTTP side
/// of the gateway, in front of `StdioProcessPool`.
///
/// | client sends                        | the gateway                                                       |
/// |-------------------------------------|-------------------------------------------------------------------|
/// | `initialize`                        | answers from the child's own initialize result, with a new session id |
/// | `notifications/initialized`         | 202; the child was initialized when it started                    |
/// | any other request                   | forwards it (id remapped); JSON when the answer comes first, else SSE |
/// | a notification                      | forwards it to the user's running child; 202                      |
/// | a response (to a server request)    | forwards it to the child that asked; 202                          |
/// | GET, DELETE                         | 405: no standalone stream, no state to delete                     |
///
/// The session id is sealed for (resource, subject) by `GatewaySessionBinding` and holds no state:
/// which child serves a request follows from the verified subject, so any replica answers any
/// session without sticky routing (each replica runs its own child for the user). An id sealed for
/// someone else, or altered, is answered 404 like a session that does not exist.
struct StdioUpstream: MCPUpstream {
    let pool: StdioProcessPool
    let sessions: GatewaySessionBinding
    let resource: String
    /// The handshake-era versions a stdio resource serves: what the process is offered, and older.
    static let servedVersions = ["2025-06-18", StdioMessages.offeredProtocolVersion]
    static let newestServedVersion = StdioMessages.offeredProtocolVersion
    /// GATEHOUSE_USERNAME for a subject (`UsernameStore`), looked up when a user's child starts.
    let username: @Sendable (String) async -> String?

    init(pool: StdioProcessPool, sessions: GatewaySessionBinding, resource: String,
         username: @escaping @Sendable (String) async -> String? = { _ in nil }) {
        self.pool = pool
        self.sessions = sessions
        self.resource = resource
        self.username = username
    }

    func handle(_ request: UpstreamRequest, context: some RequestContext) async throws -> Response {
        guard request.method == .post else {
            return JSONRPCErrorResponse.make(status: .methodNotAllowed, code: -32600, message: "Method Not Allowed",
                                             headers: [.allow: "POST, OPTIONS"])
        }
        let message = Array(buffer: request.body)
        let envelope: JSONRPCEnvelope
        do {
            envelope = try JSONRPCEnvelope.parse(Data(message))
        } catch {
            return JSONRPCErrorResponse.make(status: .badRequest, code: error.code, message: error.message)
        }
        // The process speaks the handshake era (it was initialized once, offering 2025-11-25), and
        // one process serves all of its user's sessions, so it cannot also speak 2026-07-28 (the
        // MCP Python SDK refuses the 2026 envelope on a handshake-era connection). A newer client is
        // told, in the form it reads to fall back, which versions this resource serves.
        if let version = request.headers[UpstreamHeaders.mcpProtocolVersion], version > Self.newestServedVersion {
            return StatelessRejection.unsupportedProtocolVersion(version, supported: Self.servedVersions, id: envelope.idJSON)
                .response
        }
        let subject = request.identity.subject
        var session = ""
        if envelope.method != "initialize", let presented = request.headers[UpstreamHeaders.mcpSessionID] {
            guard try await sessions.open(presented, resource: resource, subject: subject) != nil else {
                return UpstreamFailure.sessionNotFound()
            }
            session = presented
        }
        let caller = StdioSessionRouter.Caller(subject: subject, session: session)
        switch envelope.kind {
        case .request("initialize"):
            return try await initialize(envelope, subject: subject, connections: request.connectionTokens,
                                        features: request.sessionFeatures ?? [], logger: context.logger)
        case .notification("notifications/initialized"):
            return Response(status: .accepted)
        case .notification(let method):
            await pool.existingRouter(for: subject)?.forward(notification: message, method: method, from: caller)
            return Response(status: .accepted)
        case .response:
            if await pool.existingRouter(for: subject)?.forward(response: message, from: caller) != true {
                context.logger.debug("client answered a server request no running upstream process is waiting for")
            }
            return Response(status: .accepted)
        case .request:
            return try await call(message, envelope: envelope, caller: caller, acceptsStream: Self.acceptsStream(request.headers),
                                  connections: request.connectionTokens, logger: context.logger)
        }
    }

    private func router(for subject: String, connections: [ConnectionToken], logger: Logger) async -> StdioSessionRouter? {
        do {
            return try await pool.router(for: subject, connections: connections, username: { await username(subject) })
        } catch {
            logger.warning("no upstream process for the call", metadata: ["error": "\(error)"])
            return nil
        }
    }

    private func initialize(_ envelope: JSONRPCEnvelope, subject: String, connections: [ConnectionToken],
                            features: GatewaySessionBinding.Features, logger: Logger) async throws -> Response {
        guard let router = await router(for: subject, connections: connections, logger: logger) else { return UpstreamFailure.unavailable() }
        let version = StdioMessages.negotiatedVersion(requested: envelope.requestedProtocolVersion,
                                                       child: await router.childProtocolVersion)
        let body = StdioMessages.initializeResult(idJSON: envelope.idJSON ?? "null", childResult: await router.childInitializeResult,
                                                  protocolVersion: version)
        let session = try await sessions.seal(SecureRandom.token(byteCount: 18), resource: resource, subject: subject,
                                              features: features)
        return Response(status: .ok,
                        headers: [.contentType: "application/json", .cacheControl: "no-store", UpstreamHeaders.mcpSessionID: session],
                        body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    /// MCP transports: for a request, the server "MUST either return Content-Type:
    /// text/event-stream, to initiate an SSE stream, or Content-Type: application/json, to return
    /// one JSON object". A call the child answers straight away is JSON; one that first sends
    /// progress, log messages or server requests becomes a stream of them, ending with the answer.
    private func call(_ message: [UInt8], envelope: JSONRPCEnvelope, caller: StdioSessionRouter.Caller,
                      acceptsStream: Bool, connections: [ConnectionToken], logger: Logger) async throws -> Response {
        guard let router = await router(for: caller.subject, connections: connections, logger: logger) else {
            return UpstreamFailure.unavailable()
        }
        let messages: AsyncStream<[UInt8]>
        do {
            messages = try await router.forward(request: message, from: caller)
        } catch .invalidMessage {
            return JSONRPCErrorResponse.make(status: .badRequest, code: -32600, message: "Invalid Request: ambiguous id")
        } catch {
            return UpstreamFailure.unavailable()
        }
        let remaining = Remaining(messages)
        var first = await remaining.next()
        if !acceptsStream {
            // A JSON-only client can take nothing but the answer.
            while let current = first, !Self.isResponse(current) { first = await remaining.next() }
        }
        guard let first else {
            return JSONRPCErrorResponse.make(status: .badGateway, code: UpstreamFailure.badGatewayCode,
                                             message: "The upstream MCP server ended the call without an answer")
        }
        if Self.isResponse(first) {
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: .init(byteBuffer: ByteBuffer(bytes: first)))
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
                        body: ResponseBody { writer in
                            try await writer.write(Self.event(first))
                            while let next = await remaining.next() { try await writer.write(Self.event(next)) }
                            try await writer.finish(nil)
                        })
    }

    /// The rest of a call's messages, read first by the handler (is the answer already there?) and
    /// then by the response body: one reader at a time, never two, hence unchecked.
    private final class Remaining: @unchecked Sendable {
        private var iterator: AsyncStream<[UInt8]>.Iterator

        init(_ stream: AsyncStream<[UInt8]>) {
            iterator = stream.makeAsyncIterator()
        }

        func next() async -> [UInt8]? {
            await iterator.next()
        }
    }

    static func event(_ message: [UInt8]) -> ByteBuffer {
        var buffer = ByteBuffer(string: "event: message\ndata: ")
        buffer.writeBytes(message)
        buffer.writeString("\n\n")
        return buffer
    }

    /// A message the child sent as the answer to the call (no `method`), as the router passes them on.
    static func isResponse(_ message: [UInt8]) -> Bool {
        JSONMemberLocator.range(of: ["method"], in: message) == nil
    }

    /// MCP transports: "The client MUST include an Accept header, listing both application/json
    /// and text/event-stream as supported content types"; a client listing only JSON gets JSON.
    static func acceptsStream(_ headers: HTTPFields) -> Bool {
        let accept = headers[values: .accept].joined(separator: ",").lowercased()
        return accept.isEmpty || accept.contains("text/event-stream") || accept.contains("*/*")
    }
}
