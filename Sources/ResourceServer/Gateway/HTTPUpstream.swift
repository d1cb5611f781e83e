import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// An upstream MCP server reached over Streamable HTTP (MCP transports, 2025-06-18 and later).
///
/// The gateway is a careful reverse proxy: the JSON-RPC body goes out byte for byte as the client
/// sent it (never decoded and re-encoded, so ids, numbers and unknown fields survive); the answer
/// comes back as it arrives — a JSON body once complete (bounded by `maximumMessageSize`), an SSE
/// stream event by event, so progress notifications, log messages and server requests reach the
/// client while the tool runs. GET (the server's stream) and DELETE (ending a session) are
/// forwarded as they are; an upstream that does not offer them answers 405, which passes back.
///
/// Sessions need no affinity: the upstream's `Mcp-Session-Id` goes to the client sealed by
/// `GatewaySessionBinding` (MAC over resource, subject and id), so any replica can check it and
/// forward the bare id, and only the user who created a session can use it.
///
/// Failure is quick and spoken in JSON-RPC: a refused connection or one not made within
/// `connectTimeout` is 503; no response head within `timeout` seconds, or an upstream silent that
/// long in the middle of a response, is 504 (or, once streaming, a JSON-RPC error event for the
/// pending request). A client that goes away cancels the upstream request: its connection is
/// closed and, for a request with an id, `notifications/cancelled` is sent in the same session.
final class HTTPUpstream: MCPUpstream, Service {
    struct Settings: Sendable {
        /// The upstream's MCP endpoint; also the `audience` of exchanged tokens.
        var url: String
        /// The resource identifier of the gateway resource (its public URL), bound into session ids.
        var resource: String
        /// Seconds the upstream may stay silent: before its response starts, and within it.
        var timeout: Int = 60
        var connectTimeout: TimeAmount = .seconds(2)
        /// The largest JSON response, and the largest single event of an SSE response.
        var maximumMessageSize: Int = 4 << 20
        /// A label for metrics and logs (the resource's path).
        var name: String

        init(url: String, resource: String, name: String, timeout: Int = 60) {
            self.url = url
            self.resource = resource
            self.name = name
            self.timeout = timeout
        }
    }

    let settings: Settings
    let identity: UpstreamIdentity
    let sessions: GatewaySessionBinding
    private let eventLoopGroup: any EventLoopGroup
    /// Created on first use (an upstream built but never run owns no connection pool that would
    /// have to be shut down), closed by `shutdown()`.
    private let pools = NIOLockedValueBox<Pools>(.notCreated)

    private enum Pools {
        case notCreated
        /// `requests`: POST and DELETE, read timeout `settings.timeout`; `streams`: GET streams,
        /// which idle for as long as the server has nothing to say, so no read timeout (nil once
        /// closed for shutdown).
        case created(requests: HTTPClient, streams: HTTPClient?)
        case shutDown
    }

    init(settings: Settings, identity: UpstreamIdentity, sessions: GatewaySessionBinding,
         eventLoopGroup: any EventLoopGroup = HTTPClient.defaultEventLoopGroup) {
        self.settings = settings
        self.identity = identity
        self.sessions = sessions
        self.eventLoopGroup = eventLoopGroup
    }

    /// The connection pool for `method`; nil once shut down.
    func client(for method: HTTPRequest.Method) -> HTTPClient? {
        pools.withLockedValue { pools in
            if case .notCreated = pools {
                pools = .created(
                    requests: HTTPClient(eventLoopGroup: eventLoopGroup,
                                         configuration: Self.clientConfiguration(settings, read: .seconds(Int64(settings.timeout)))),
                    streams: HTTPClient(eventLoopGroup: eventLoopGroup, configuration: Self.clientConfiguration(settings, read: nil)))
            }
            guard case .created(let requests, let streams) = pools else { return nil }
            return method == .get ? streams : requests
        }
    }

    /// No redirects (a 3xx goes back to the client, never followed with our credentials attached),
    /// no decompression (bytes pass as they are), no connection retries (a refused connection is a
    /// quick 503, not a minute of back-off), and enough connections for many concurrent streams.
    static func clientConfiguration(_ settings: Settings, read: TimeAmount?) -> HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: settings.connectTimeout, read: read),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512),
            decompression: .disabled)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.httpVersion = .http1Only
        return configuration
    }

    /// Runs in the service group only to close the connection pools at shutdown.
    func run() async throws {
        // The shared session key, loaded once while the server starts (a request that comes first
        // loads it itself; a database that is down then answers 503, not a broken session).
        try? await sessions.load()
        try? await gracefulShutdown()
        await shutdown()
    }

    func shutdown() async {
        let created = pools.withLockedValue { pools -> [HTTPClient] in
            defer { pools = .shutDown }
            guard case .created(let requests, let streams) = pools else { return [] }
            return [requests] + (streams.map { [$0] } ?? [])
        }
        for client in created { try? await client.shutdown() }
    }

    /// Ends every open GET stream: they never end by themselves, and the server's graceful
    /// shutdown waits for open responses (clients reconnect, to another replica, with `Last-Event-ID`).
    func closeStreams() async {
        let streams = pools.withLockedValue { pools -> HTTPClient? in
            guard case .created(let requests, let streams?) = pools else { return nil }
            pools = .created(requests: requests, streams: nil)
            return streams
        }
        try? await streams?.shutdown()
    }

    func handle(_ request: UpstreamRequest, context: some RequestContext) async throws -> Response {
        let started = DispatchTime.now()
        var logger = context.logger
        logger[metadataKey: "upstream"] = "\(settings.name)"
        let response: Response
        do {
            response = try await forward(request, logger: logger)
        } catch let error as GatewaySessionBinding.KeyUnavailable {
            logger.error("gateway session key unavailable", metadata: ["error": "\(error.underlying)"])
            response = UpstreamFailure.unavailable()
        }
        let status = response.status.code
        Counter(label: "gatehouse_gateway_upstream_requests_total",
                dimensions: [("resource", settings.name), ("transport", "http"), ("status", "\(status / 100)xx")]).increment()
        Metrics.Timer(label: "gatehouse_gateway_upstream_head_seconds", dimensions: [("resource", settings.name)])
            .recordInterval(since: started)
        return response
    }

    private func forward(_ request: UpstreamRequest, logger: Logger) async throws -> Response {
        var headers = UpstreamHeaders.towardsUpstream(request.headers)
        var features = request.sessionFeatures ?? []
        if let presented = request.headers[UpstreamHeaders.mcpSessionID] {
            guard let session = try await sessions.session(presented, resource: settings.resource,
                                                           subject: request.identity.subject) else {
                logger.info("session id refused: not issued to this user for this resource",
                            metadata: ["sub": "\(request.identity.subject)"])
                return UpstreamFailure.sessionNotFound()
            }
            headers.add(name: UpstreamHeaders.mcpSessionID.rawName, value: session.upstreamID)
            if request.sessionFeatures == nil { features = session.features }
        }
        headers.add(name: UpstreamHeaders.requestID.rawName, value: request.requestID)
        do {
            try await identity.apply(to: &headers, for: request, logger: logger)
        } catch {
            logger.error("no identity for the upstream", metadata: ["error": "\(error)"])
            return UpstreamFailure.identity(error)
        }

        var outbound = HTTPClientRequest(url: settings.url)
        outbound.method = HTTPMethod(rawValue: request.method.rawValue)
        outbound.headers = headers
        if request.method == .post { outbound.body = .bytes(request.body) }
        guard let client = client(for: request.method) else { return UpstreamFailure.unavailable() }
        let upstream: HTTPClientResponse
        do {
            upstream = try await client.execute(outbound, deadline: .now() + .seconds(Int64(settings.timeout)), logger: logger)
        } catch {
            logger.warning("upstream request failed", metadata: ["error": "\(error)", "url": "\(settings.url)"])
            return UpstreamFailure.response(for: error, timeout: settings.timeout)
        }
        if upstream.status == .unauthorized {
            // The upstream refused what the gateway sent (its exchanged token). Passing a 401 on
            // would send the client to re-authorize with Gatehouse, which cannot help.
            logger.error("the upstream refused the gateway's request with 401")
            return UpstreamFailure.badGateway("The upstream MCP server refused the gateway's credentials")
        }
        var fields = UpstreamHeaders.towardsClient(upstream.headers)
        if let upstreamSession = upstream.headers.first(name: UpstreamHeaders.mcpSessionID.rawName) {
            fields[UpstreamHeaders.mcpSessionID] = try await sessions.seal(
                upstreamSession, resource: settings.resource, subject: request.identity.subject, features: features)
        }
        let status = HTTPResponse.Status(code: Int(upstream.status.code), reasonPhrase: upstream.status.reasonPhrase)
        let contentType = upstream.headers.first(name: "content-type")?.lowercased() ?? ""
        if contentType.hasPrefix("text/event-stream") {
            fields[.cacheControl] = fields[.cacheControl] ?? "no-cache"
            return Response(status: status, headers: fields,
                            body: stream(upstream.body, for: request, upstreamHeaders: headers, logger: logger))
        }
        do {
            let body = try await upstream.body.collect(upTo: settings.maximumMessageSize)
            return Response(status: status, headers: fields, body: .init(byteBuffer: body))
        } catch is NIOTooManyBytesError {
            logger.warning("upstream response over the limit", metadata: ["limit": "\(settings.maximumMessageSize)"])
            return UpstreamFailure.badGateway("The upstream MCP server's response is larger than \(settings.maximumMessageSize) bytes")
        } catch {
            logger.warning("upstream response broke off", metadata: ["error": "\(error)"])
            if let error = error as? HTTPClientError, error == .readTimeout { return UpstreamFailure.timedOut(after: settings.timeout) }
            return UpstreamFailure.badGateway("The upstream MCP server's response broke off")
        }
    }
}
