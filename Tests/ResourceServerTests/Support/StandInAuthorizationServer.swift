import Foundation
import Hummingbird
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle
import Shared
import TestSupport

/// A real HTTP server on port 0 playing the authorization server's public side: RFC 8414 metadata
/// and the JWKS (with `Cache-Control: public, max-age=300`, like the real one). It counts JWKS
/// fetches and can change its keys or stop, so tests can watch the resource server's key cache.
final class StandInAuthorizationServer: Sendable {
    private let keys: NIOLockedValueBox<[JWK]>
    private let fetches = NIOLockedValueBox(0)
    private let issuerBox = NIOLockedValueBox("")
    private let runState = NIOLockedValueBox<(ServiceGroup, Task<Void, any Error>)?>(nil)

    var issuer: String { issuerBox.withLockedValue { $0 } }
    var jwksFetchCount: Int { fetches.withLockedValue { $0 } }

    init(publishing published: [RSAKey] = [TestKeys.primary]) {
        keys = NIOLockedValueBox(published.map { try! $0.publicJWK() })
    }

    func publish(_ published: [RSAKey]) {
        keys.withLockedValue { $0 = published.map { try! $0.publicJWK() } }
    }

    /// Starts the server and returns once it listens.
    func start() async throws {
        let router = Router()
        router.get("/.well-known/oauth-authorization-server") { [self] _, _ in
            let body = #"{"issuer":"\#(issuer)","jwks_uri":"\#(issuer)/jwks.json"}"#
            return Response(status: .ok, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/jwks.json") { [self] _, _ in
            fetches.withLockedValue { $0 += 1 }
            let data = try JSONEncoder().encode(JWKS(keys: keys.withLockedValue { $0 }))
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
                            body: .init(byteBuffer: ByteBuffer(bytes: data)))
        }
        var logger = Logger(label: "stand-in-as")
        logger.logLevel = .warning
        let (ports, continuation) = AsyncStream.makeStream(of: Int.self)
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
                              logger: logger)
        let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
        let task = Task { try await group.run() }
        runState.withLockedValue { $0 = (group, task) }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw TestSetupError("stand-in AS did not start") }
        issuerBox.withLockedValue { $0 = "http://127.0.0.1:\(port)" }
    }

    func stop() async {
        guard let (group, task) = runState.withLockedValue({ state in defer { state = nil }; return state }) else { return }
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    /// Runs `body` with a started server, stopping it afterwards even if `body` throws.
    static func withRunning<T: Sendable>(
        publishing published: [RSAKey] = [TestKeys.primary],
        _ body: (StandInAuthorizationServer) async throws -> T
    ) async throws -> T {
        let server = StandInAuthorizationServer(publishing: published)
        try await server.start()
        do {
            let result = try await body(server)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}
