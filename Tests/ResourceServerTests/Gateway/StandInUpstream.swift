import Foundation
import TestSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import NIOCore
import ServiceLifecycle
@testable import ResourceServer

/// A real HTTP server on loopback port 0, for an upstream MCP server (or the gateway in front of
/// it) in the gateway tests. It records every request it receives: method, headers and body bytes.
final class LocalServer: Sendable {
    struct Received: Sendable {
        var method: HTTPRequest.Method
        var headers: HTTPFields
        var body: ByteBuffer
        var bodyText: String { String(buffer: body) }
    }

    let port: Int
    private let received: NIOLockedValueBox<[Received]>
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    var url: String { "http://127.0.0.1:\(port)/mcp" }
    var requests: [Received] { received.withLockedValue { $0 } }

    private init(port: Int, received: NIOLockedValueBox<[Received]>, group: ServiceGroup, task: Task<Void, any Error>) {
        self.port = port
        self.received = received
        self.group = group
        self.task = task
    }

    /// Starts a server whose `/mcp` answers with `handler`, after recording the request.
    static func start(
        _ handler: @escaping @Sendable (Request, ByteBuffer, BasicRequestContext) async throws -> Response
    ) async throws -> LocalServer {
        let received = NIOLockedValueBox<[Received]>([])
        let router = Router()
        for method in [HTTPRequest.Method.post, .get, .delete] {
            router.on("/mcp", method: method) { request, context in
                let body = try await request.body.collect(upTo: 16 << 20)
                received.withLockedValue { $0.append(Received(method: request.method, headers: request.headers, body: body)) }
                return try await handler(request, body, context)
            }
        }
        var logger = Logger(label: "local-server")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestSetupError("local server did not start") }
        return LocalServer(port: port, received: received, group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// The gateway under test: `HTTPUpstream` behind a minimal Hummingbird route that plays the part
/// of `GatewayEndpoint` (the caller is already authenticated as `identity`, here taken from
/// `X-Test-Subject` so one test can be two users).
enum GatewayUnderTest {
    static func start(_ upstream: HTTPUpstream, token: String = "client-token") async throws -> LocalServer {
        try await LocalServer.start { request, body, context in
            let subject = request.headers[HTTPField.Name("X-Test-Subject")!] ?? "subject-a"
            var headers = HTTPFields()
            for field in request.headers where GatewayEndpoint.forwardedHeaders.contains(field.name.canonicalName) {
                headers.append(field)
            }
            let identity = VerifiedIdentity(subject: subject, clientID: "client-1", scopes: .init("files:read files:write"),
                                            tokenID: "jti-\(subject)")
            let forwarded = UpstreamRequest(method: request.method, headers: headers, body: body, identity: identity,
                                            accessToken: token, requestID: context.id)
            return try await upstream.handle(forwarded, context: context)
        }
    }
}
