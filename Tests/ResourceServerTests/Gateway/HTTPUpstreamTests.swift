import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Testing
@testable import ResourceServer

/// `HTTPUpstream` over real HTTP: a stand-in upstream on loopback, the gateway route in front of
/// it, and AsyncHTTPClient as the MCP client (so a test can watch bytes arrive as they stream).
@Suite("HTTP upstream")
struct HTTPUpstreamTests {
    static let key = [UInt8](repeating: 7, count: 32)
    static let initialize = #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#

    static func upstream(_ url: String, timeout: Int = 30, identity: UpstreamIdentity.Options = .init(),
                         maximumMessageSize: Int? = nil, resource: String = "http://localhost:8000/mcp/crm") -> HTTPUpstream {
        var settings = HTTPUpstream.Settings(url: url, resource: resource, name: "/mcp/crm", timeout: timeout)
        if let maximumMessageSize { settings.maximumMessageSize = maximumMessageSize }
        return HTTPUpstream(settings: settings,
                            identity: UpstreamIdentity(options: identity, audience: url, usernames: nil, exchange: nil),
                            sessions: GatewaySessionBinding(key: key))
    }

    static func json(_ text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// Runs `body` with an upstream answering `handler` and a gateway in front of it.
    static func withGateway(
        timeout: Int = 30, identity: UpstreamIdentity.Options = .init(), maximumMessageSize: Int? = nil,
        _ handler: @escaping @Sendable (Request, ByteBuffer, BasicRequestContext) async throws -> Response,
        _ body: (LocalServer, LocalServer) async throws -> Void
    ) async throws {
        let upstreamServer = try await LocalServer.start(handler)
        let upstream = upstream(upstreamServer.url, timeout: timeout, identity: identity, maximumMessageSize: maximumMessageSize)
        let gateway = try await GatewayUnderTest.start(upstream)
        do {
            try await body(upstreamServer, gateway)
        } catch {
            await gateway.stop(); await upstreamServer.stop(); await upstream.shutdown()
            throw error
        }
        await gateway.stop(); await upstreamServer.stop(); await upstream.shutdown()
    }

    /// A client of the test's own, shut down whatever happens (AsyncHTTPClient traps on a client
    /// released without `shutdown()`).
    static func withClient<T: Sendable>(_ body: (HTTPClient) async throws -> T) async throws -> T {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// `body`'s outcome, so a test can stop its servers before it throws.
    static func attempt<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    static func send(_ gateway: LocalServer, method: HTTPMethod = .POST, body: String? = nil,
                     headers: [(String, String)] = []) async throws -> (status: UInt, headers: HTTPHeaders, body: String) {
        var request = HTTPClientRequest(url: gateway.url)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Accept", value: "application/json, text/event-stream")
        request.headers.add(name: "MCP-Protocol-Version", value: "2025-11-25")
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let text = String(buffer: try await response.body.collect(upTo: 32 << 20))
        return (response.status.code, response.headers, text)
    }

    @Test("the body goes out byte for byte; the client's credentials and X-Gatehouse-* never do")
    func forwardsBodyVerbatimWithoutCredentials() async throws {
        // Odd spacing, a big integer and an unknown member: a re-encoding would change them.
        let body = #"{ "jsonrpc":"2.0",  "id":"a-1","method":"tools/call","params":{"name":"echo","arguments":{"n":12345678901234567890,"x-extra":true}} }"#
        try await Self.withGateway({ _, _, _ in Self.json(#"{"jsonrpc":"2.0","id":"a-1","result":{"content":[]}}"#) }) { upstream, gateway in
            let reply = try await Self.send(gateway, body: body, headers: [
                ("Authorization", "Bearer client-token"), ("Cookie", "session=secret"),
                ("X-Gatehouse-Subject", "someone-else"), ("X-Gatehouse-Scopes", "admin"), ("Proxy-Authorization", "Basic eA=="),
            ])
            #expect(reply.status == 200)
            #expect(reply.body == #"{"jsonrpc":"2.0","id":"a-1","result":{"content":[]}}"#)
            let received = try #require(upstream.requests.last)
            #expect(received.bodyText == body)
            let names = Set(received.headers.map { $0.name.canonicalName })
            #expect(!names.contains("authorization") && !names.contains("cookie") && !names.contains("proxy-authorization"))
            #expect(!names.contains { $0.hasPrefix("x-gatehouse-") })
            #expect(received.headers[HTTPField.Name("MCP-Protocol-Version")!] == "2025-11-25")
        }
    }

    @Test("identity.headers: X-Gatehouse-* come from the verified identity, whatever the client sent")
    func identityHeadersFromTheGatewayOnly() async throws {
        try await Self.withGateway(identity: .init(headers: true), { _, _, _ in Self.json(#"{"jsonrpc":"2.0","id":1,"result":{}}"#) }) { upstream, gateway in
            _ = try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#, headers: [
                ("X-Gatehouse-Subject", "mallory"), ("X-Gatehouse-Username", "root"), ("X-Test-Subject", "subject-a"),
            ])
            let headers = try #require(upstream.requests.last).headers
            #expect(headers[values: HTTPField.Name("X-Gatehouse-Subject")!] == ["subject-a"])
            #expect(headers[HTTPField.Name("X-Gatehouse-Username")!] == nil)  // no users table row for this subject
            #expect(headers[HTTPField.Name("X-Gatehouse-Client-Id")!] == "client-1")
            #expect(headers[HTTPField.Name("X-Gatehouse-Scopes")!] == "files:read files:write")
            #expect(headers[.authorization] == nil)
        }
    }

    @Test("SSE responses stream: the first event reaches the client before the upstream has finished")
    func streamsEventsAsTheyArrive() async throws {
        try await Self.withGateway({ _, _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":1,\"progress\":1}}\n\n"))
                try await Task.sleep(for: .milliseconds(2500))
                try await writer.write(ByteBuffer(string: "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}\n\n"))
                try await writer.finish(nil)
            })
        }) { _, gateway in
            var request = HTTPClientRequest(url: gateway.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Accept", value: "application/json, text/event-stream")
            request.body = .bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"slow"}}"#))
            let started = ContinuousClock.now
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
            #expect(response.status == .ok)
            #expect(response.headers.first(name: "content-type") == "text/event-stream")
            var text = "", progressAt: Duration?
            for try await chunk in response.body {
                text += String(buffer: chunk)
                if progressAt == nil, text.contains("notifications/progress") { progressAt = ContinuousClock.now - started }
            }
            let total = ContinuousClock.now - started
            // Relative, so a loaded machine does not make it flaky: the progress came ~2.5 s before the end.
            #expect(total - (try #require(progressAt)) > .milliseconds(1500), "progress at \(String(describing: progressAt)) of \(total)")
            #expect(text.contains(#""id":7,"result""#))
        }
    }

    @Test("Mcp-Session-Id is sealed to its user: another user, another resource or an edit gets 404")
    func sessionsAreBoundToTheirUser() async throws {
        try await Self.withGateway({ request, body, _ in
            if String(buffer: body).contains("initialize") {
                return Self.json(#"{"jsonrpc":"2.0","id":1,"result":{}}"#, headers: [HTTPField.Name("Mcp-Session-Id")!: "sess-1"])
            }
            return Self.json(#"{"jsonrpc":"2.0","id":2,"result":{}}"#)
        }) { upstream, gateway in
            let created = try await Self.send(gateway, body: Self.initialize, headers: [("X-Test-Subject", "alice")])
            let sealed = try #require(created.headers.first(name: "Mcp-Session-Id"))
            #expect(sealed.hasPrefix("sess-1.") && sealed.count > 40)
            let ping = #"{"jsonrpc":"2.0","id":2,"method":"ping"}"#

            let same = try await Self.send(gateway, body: ping, headers: [("X-Test-Subject", "alice"), ("Mcp-Session-Id", sealed)])
            #expect(same.status == 200)
            #expect(upstream.requests.last?.headers[HTTPField.Name("Mcp-Session-Id")!] == "sess-1")

            let before = upstream.requests.count
            let other = try await Self.send(gateway, body: ping, headers: [("X-Test-Subject", "bob"), ("Mcp-Session-Id", sealed)])
            #expect(other.status == 404)
            #expect(other.body.contains("Session not found"))
            let bare = try await Self.send(gateway, body: ping, headers: [("X-Test-Subject", "alice"), ("Mcp-Session-Id", "sess-1")])
            #expect(bare.status == 404)
            let edited = try await Self.send(gateway, body: ping, headers: [
                ("X-Test-Subject", "alice"), ("Mcp-Session-Id", "sess-2" + sealed.dropFirst("sess-1".count)),
            ])
            #expect(edited.status == 404)
            #expect(upstream.requests.count == before, "a refused session id reached the upstream")
        }
        // The same key and upstream id under another resource does not verify.
        let binding = GatewaySessionBinding(key: Self.key)
        let sealed = try await binding.seal("sess-1", resource: "http://localhost:8000/mcp/crm", subject: "alice")
        #expect(try await binding.open(sealed, resource: "http://localhost:8000/mcp/crm", subject: "alice") == "sess-1")
        #expect(try await binding.open(sealed, resource: "http://localhost:8000/mcp/files", subject: "alice") == nil)
    }

    @Test("an upstream that is down: 503 with a JSON-RPC error, quickly")
    func downUpstreamIsQuick503() async throws {
        let closed = try await LocalServer.start { _, _, _ in Response(status: .ok) }
        let url = closed.url
        await closed.stop()
        // A long timeout: the 503 must come from the refused connection, not from waiting it out.
        let upstream = Self.upstream(url, timeout: 60)
        let gateway = try await GatewayUnderTest.start(upstream)
        let started = ContinuousClock.now
        let sent = await Self.attempt { try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#) }
        let elapsed = ContinuousClock.now - started
        await gateway.stop(); await upstream.shutdown()
        let reply = try sent.get()
        #expect(reply.status == 503)
        #expect(reply.headers.first(name: "content-type") == "application/json")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(reply.body.utf8)) as? [String: Any])
        #expect((json["error"] as? [String: Any])?["code"] as? Int == UpstreamFailure.unavailableCode)
        #expect(elapsed < .seconds(10), "took \(elapsed)")  // ~0.1 s idle; bounded loosely for loaded CI
    }

    @Test("an upstream silent past its timeout: 504 before the head, a JSON-RPC error event within a stream")
    func silentUpstreamTimesOut() async throws {
        try await Self.withGateway(timeout: 4, { request, body, _ in
            if String(buffer: body).contains("stream") {
                return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                    try await writer.write(ByteBuffer(string: ": started\n\n"))
                    try await Task.sleep(for: .seconds(10))
                    try await writer.finish(nil)
                })
            }
            try await Task.sleep(for: .seconds(10))
            return Self.json("{}")
        }) { _, gateway in
            // The upstream would answer 200 after 10 s: a 504 means the gateway gave up first.
            let head = try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"wait"}}"#)
            #expect(head.status == 504)
            #expect(head.body.contains(#""code":-32001"#))
            let stream = try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"stream"}}"#)
            #expect(stream.status == 200)
            #expect(stream.body.contains(#""id":"s","error":{"code":-32001"#), "\(stream.body)")
        }
    }

    @Test("response headers: hop-by-hop, cookies, CORS and challenges stay at the gateway")
    func responseHeadersAreFiltered() async throws {
        try await Self.withGateway({ _, _, _ in
            Self.json(#"{"jsonrpc":"2.0","id":1,"result":{}}"#, headers: [
                .setCookie: "upstream=1", .wwwAuthenticate: #"Bearer realm="upstream""#, .accessControlAllowOrigin: "*",
                HTTPField.Name("Keep-Alive")!: "timeout=5", HTTPField.Name("X-Gatehouse-Subject")!: "spoofed",
                HTTPField.Name("X-Upstream-Version")!: "1.2",
            ])
        }) { _, gateway in
            let reply = try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":1,"method":"ping"}"#)
            #expect(reply.status == 200)
            for dropped in ["set-cookie", "www-authenticate", "access-control-allow-origin", "keep-alive", "x-gatehouse-subject"] {
                #expect(reply.headers[dropped].isEmpty, "\(dropped) passed through")
            }
            #expect(reply.headers.first(name: "x-upstream-version") == "1.2")
        }
    }

    @Test("a JSON response over the limit is 502; an SSE event over the limit ends the stream with an error")
    func oversizedResponses() async throws {
        let big = String(repeating: "x", count: 10_000)
        try await Self.withGateway(maximumMessageSize: 4096, { _, body, _ in
            if String(buffer: body).contains("stream") {
                return Response(status: .ok, headers: [.contentType: "text/event-stream"],
                                body: .init(byteBuffer: ByteBuffer(string: "event: message\ndata: \"\(big)\"\n\n")))
            }
            return Self.json(#"{"jsonrpc":"2.0","id":1,"result":""# + big + #""}"#)
        }) { _, gateway in
            let json = try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"big"}}"#)
            #expect(json.status == 502)
            #expect(json.body.contains(#""code":-32002"#))
            let stream = try await Self.send(gateway, body: #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"stream"}}"#)
            #expect(!stream.body.contains(big))
            #expect(stream.body.contains(#""id":2,"error":{"code":-32002"#))
        }
    }

    @Test("GET and DELETE are forwarded; the upstream's 405 passes back")
    func getAndDeletePassThrough() async throws {
        try await Self.withGateway({ request, _, _ in
            switch request.method {
            case .get: Response(status: .methodNotAllowed, headers: [.allow: "POST"])
            default: Response(status: .noContent)
            }
        }) { upstream, gateway in
            let get = try await Self.send(gateway, method: .GET)
            #expect(get.status == 405)
            #expect(get.headers.first(name: "allow") == "POST")
            let delete = try await Self.send(gateway, method: .DELETE)
            #expect(delete.status == 204)
            #expect(upstream.requests.map(\.method) == [.get, .delete])
        }
    }

    @Test("a client that goes away cancels the upstream request with notifications/cancelled")
    func clientDisconnectCancels() async throws {
        try await Self.withGateway({ _, body, _ in
            if String(buffer: body).contains("notifications/cancelled") { return Response(status: .accepted) }
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                for step in 1...50 {
                    try await writer.write(ByteBuffer(string: "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"p\",\"progress\":\(step)}}\n\n"))
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await writer.finish(nil)
            })
        }) { upstream, gateway in
            var request = HTTPClientRequest(url: gateway.url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.headers.add(name: "Accept", value: "application/json, text/event-stream")
            request.body = .bytes(ByteBuffer(string: #"{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"slow"}}"#))
            // A client of its own, shut down (closing its connection) once the first progress arrived.
            try await Self.withClient { client in
                let response = try await client.execute(request, timeout: .seconds(30))
                for try await chunk in response.body where String(buffer: chunk).contains("progress") { break }
            }
            var cancelled: LocalServer.Received?
            for _ in 0..<150 where cancelled == nil {
                try await Task.sleep(for: .milliseconds(100))
                cancelled = upstream.requests.first { $0.bodyText.contains("notifications/cancelled") }
            }
            let notification = try #require(cancelled)
            #expect(notification.bodyText.contains(#""requestId":42"#))
        }
    }

    @Test("an open GET stream does not hold up the gateway's graceful shutdown")
    func getStreamEndsOnShutdown() async throws {
        let upstreamServer = try await LocalServer.start { _, _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                for _ in 0..<150 {  // a server with nothing to say, keeping the stream alive
                    try await writer.write(ByteBuffer(string: ": keep-alive\n\n"))
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await writer.finish(nil)
            })
        }
        let upstream = Self.upstream(upstreamServer.url)
        let gateway = try await GatewayUnderTest.start(upstream)
        var request = HTTPClientRequest(url: gateway.url)
        request.headers.add(name: "Accept", value: "text/event-stream")
        let measured = await Self.attempt { try await Self.withClient { client in
            let response = try await client.execute(request, timeout: .seconds(60))
            #expect(response.status == .ok)
            let reader = Task { var n = 0; for try await chunk in response.body { n += chunk.readableBytes }; return n }
            try await Task.sleep(for: .milliseconds(500))
            let started = ContinuousClock.now
            await gateway.stop()
            let elapsed = ContinuousClock.now - started
            _ = try? await reader.value
            return elapsed
        } }
        await gateway.stop()
        await upstream.shutdown()
        await upstreamServer.stop()
        let elapsed = try measured.get()
        // Without closing the stream it waits for the upstream's 30 s.
        #expect(elapsed < .seconds(15), "graceful shutdown waited \(elapsed) for an idle GET stream")
    }
}
