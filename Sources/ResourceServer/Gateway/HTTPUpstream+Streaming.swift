import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import ServiceLifecycle
import Shared

extension HTTPUpstream {
    /// Relays an SSE response chunk by chunk as the upstream writes it.
    ///
    /// If the upstream breaks off (silent past the timeout, reset, an event over the size limit)
    /// while a request is pending, the stream ends with a JSON-RPC error for that request, so the
    /// client's call fails instead of waiting. If the client goes away, the loop stops: leaving the
    /// upstream body unread closes that connection, and the request is cancelled explicitly, since
    /// MCP transports say "Disconnection SHOULD NOT be interpreted as the client cancelling its request".
    func stream(_ body: HTTPClientResponse.Body, for request: UpstreamRequest, upstreamHeaders: HTTPHeaders,
                logger: Logger) -> ResponseBody {
        ResponseBody { writer in
            let failure = try await withGracefulShutdownHandler {
                try await self.relay(body, to: &writer, for: request, upstreamHeaders: upstreamHeaders, logger: logger)
            } onGracefulShutdown: {
                // A POST stream ends with its call (bounded by the timeout); a GET stream never does,
                // and the server's graceful shutdown waits for open responses.
                if request.method == .get { Task { await self.closeStreams() } }
            }
            if let failure, request.method == .post, let id = Self.requestIDJSON(request.body) {
                try await writer.write(UpstreamFailure.sseErrorEvent(idJSON: id, code: failure.code, message: failure.message))
            }
            try await writer.finish(nil)
        }
    }

    /// Copies the upstream's chunks to the client; returns why the upstream's side ended early, if
    /// it did, and rethrows the client's write error (after cancelling the upstream request).
    private func relay(_ body: HTTPClientResponse.Body, to writer: inout any ResponseBodyWriter, for request: UpstreamRequest,
                       upstreamHeaders: HTTPHeaders, logger: Logger) async throws -> (code: Int, message: String)? {
        let limit = settings.maximumMessageSize
        var sizeGuard = SSEEventSizeGuard(limit: limit)
        do {
            for try await chunk in body {
                guard sizeGuard.admit(chunk) else {
                    logger.warning("upstream SSE event over the limit", metadata: ["limit": "\(limit)"])
                    return (UpstreamFailure.badGatewayCode, "The upstream MCP server sent a message larger than \(limit) bytes")
                }
                do {
                    try await writer.write(chunk)
                } catch {
                    logger.info("client went away during an upstream stream; cancelling")
                    cancelUpstream(request, upstreamHeaders: upstreamHeaders, logger: logger)
                    throw ClientWentAway(underlying: error)
                }
            }
            return nil
        } catch let gone as ClientWentAway {
            throw gone.underlying
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .readTimeout {
            return (UpstreamFailure.timeoutCode, "The upstream MCP server was silent for \(settings.timeout) s")
        } catch {
            // Not only HTTPClientError: an upstream killed mid-stream surfaces as NIO's own errors
            // (a reset, an end of file inside a chunk), and the client must still get its error
            // event (the gateway-faults chaos scenario saw the stream just stop).
            logger.warning("upstream stream broke off", metadata: ["error": "\(error)"])
            return (UpstreamFailure.badGatewayCode, "The upstream MCP server's stream broke off")
        }
    }

    /// The client's side failed while relaying: not the upstream's fault, so no error event.
    private struct ClientWentAway: Error {
        let underlying: any Error
    }

    /// The id of the JSON-RPC request in `body`, as JSON text; nil for notifications and responses.
    /// Parsed only on the rare paths that need it, so the hot path never decodes the body.
    static func requestIDJSON(_ body: ByteBuffer) -> String? {
        guard let envelope = try? JSONRPCEnvelope.parse(Data(buffer: body)), case .request = envelope.kind else { return nil }
        return envelope.idJSON
    }

    /// MCP (Cancellation): "When a party wants to cancel an in-progress request, it sends a
    /// notifications/cancelled notification containing the ID of the request to cancel". Sent in
    /// the request's session with the same identity; best effort, bounded, off the request's task.
    func cancelUpstream(_ request: UpstreamRequest, upstreamHeaders: HTTPHeaders, logger: Logger) {
        guard request.method == .post, let id = Self.requestIDJSON(request.body) else { return }
        var headers = upstreamHeaders
        headers.replaceOrAdd(name: "Content-Type", value: "application/json")
        headers.replaceOrAdd(name: "Accept", value: "application/json, text/event-stream")
        if headers.contains(name: UpstreamHeaders.mcpMethod.rawName) {
            headers.replaceOrAdd(name: UpstreamHeaders.mcpMethod.rawName, value: "notifications/cancelled")
        }
        headers.remove(name: UpstreamHeaders.mcpName.rawName)
        var outbound = HTTPClientRequest(url: settings.url)
        outbound.method = .POST
        outbound.headers = headers
        outbound.body = .bytes(ByteBuffer(string:
            #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":\#(id),"reason":"client disconnected"}}"#))
        guard let client = client(for: .post) else { return }
        Task {
            do {
                let response = try await client.execute(outbound, deadline: .now() + .seconds(5), logger: logger)
                _ = try await response.body.collect(upTo: 64 * 1024)
            } catch {
                logger.debug("notifications/cancelled not delivered", metadata: ["error": "\(error)"])
            }
        }
    }
}
