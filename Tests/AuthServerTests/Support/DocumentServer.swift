import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOConcurrencyHelpers
import NIOCore
@testable import AuthServer

/// A client's web server on 127.0.0.1, port 0, publishing client ID metadata documents. It
/// counts the requests per path, so tests can tell whether the authorization server fetched.
final class DocumentServer: Sendable {
    struct Document: Sendable {
        var status: HTTPResponse.Status = .ok
        var contentType = "application/json"
        var cacheControl: String? = "max-age=600"
        var body: String
        var extraHeaders: HTTPFields = [:]
        /// Sent in chunks without a Content-Length, so only the reader's own limit can stop it.
        var chunked = false
    }

    private struct State {
        var documents: [String: Document] = [:]
        var requests: [String: Int] = [:]
        var accept: [String] = []
    }

    private let state = NIOLockedValueBox(State())
    private let portBox = NIOLockedValueBox(0)

    var port: Int { portBox.withLockedValue { $0 } }
    var origin: String { "http://127.0.0.1:\(port)" }

    /// Runs `body` while the server is listening.
    static func run<T: Sendable>(_ body: @escaping @Sendable (DocumentServer) async throws -> T) async throws -> T {
        let server = DocumentServer()
        let router = Router()
        router.get("**") { request, _ -> Response in server.answer(request) }
        var logger = Logger(label: "document-server")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        return try await app.test(.live) { client in
            server.portBox.withLockedValue { $0 = client.port ?? 0 }
            return try await body(server)
        }
    }

    /// A fresh path for this test, so repeated runs against the same database never share a URL.
    func uniquePath(_ name: String = "client.json") -> String { "/\(UUID().uuidString.prefix(12).lowercased())/\(name)" }

    func publish(_ path: String, _ document: Document) {
        state.withLockedValue { $0.documents[path] = document }
    }

    /// Publishes a valid document for `origin + path` and returns that URL (the client_id).
    @discardableResult
    func publishClient(_ path: String, redirectURIs: [String] = ["http://127.0.0.1:33418/callback"],
                       cacheControl: String? = "max-age=600", changes: [String: Any?] = [:]) throws -> String {
        let clientID = origin + path
        var fields: [String: Any] = [
            "client_id": clientID, "client_name": "Document Client", "redirect_uris": redirectURIs,
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none", "client_uri": origin,
        ]
        for (key, value) in changes { fields[key] = value }
        let data = try JSONSerialization.data(withJSONObject: fields, options: [.withoutEscapingSlashes])
        publish(path, Document(cacheControl: cacheControl, body: String(decoding: data, as: UTF8.self)))
        return clientID
    }

    func requests(_ path: String) -> Int { state.withLockedValue { $0.requests[path] ?? 0 } }
    var totalRequests: Int { state.withLockedValue { $0.requests.values.reduce(0, +) } }
    var acceptHeaders: [String] { state.withLockedValue { $0.accept } }

    private func answer(_ request: Request) -> Response {
        let path = request.uri.path
        let document = state.withLockedValue { state -> Document? in
            state.requests[path, default: 0] += 1
            state.accept.append(request.headers[.accept] ?? "")
            return state.documents[path]
        }
        guard let document else { return Response(status: .notFound) }
        var headers = document.extraHeaders
        headers[.contentType] = document.contentType
        if let cacheControl = document.cacheControl { headers[.cacheControl] = cacheControl }
        let buffer = ByteBuffer(string: document.body)
        guard document.chunked else { return Response(status: document.status, headers: headers, body: .init(byteBuffer: buffer)) }
        return Response(status: document.status, headers: headers, body: ResponseBody { writer in
            var rest = buffer
            while let chunk = rest.readSlice(length: min(1024, rest.readableBytes)), chunk.readableBytes > 0 {
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        })
    }
}
