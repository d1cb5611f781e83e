import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Shared

/// Every request Gatehouse makes to an upstream identity provider: discovery, JWKS, the token
/// endpoint, GitHub's API. The same address rules as client metadata documents
/// (`ClientMetadataFetcher.checkedAddress`, `OutboundAddressPolicy`): the host is resolved, a
/// private, link-local or otherwise internal address is refused, loopback only for an entry with
/// `allow_insecure_loopback: true`, and the connection is pinned to the checked address, so a
/// second DNS answer cannot point it inside the network. No redirect is followed; 10 s; at most
/// 64 KiB.
struct ProviderHTTPClient: Sendable {
    static let timeout: TimeAmount = .seconds(10)
    static let maximumBytes = 64 * 1024

    struct Answer: Sendable {
        let status: Int
        let body: [UInt8]
        let cacheControl: String?

        /// The body as a JSON value of type `T`, or nil.
        func json<T: Decodable>(_ type: T.Type) -> T? { try? JSONDecoder().decode(T.self, from: Data(body)) }
    }

    /// `allow_insecure_loopback` of the provider: loopback addresses (and plain http to them).
    let allowLoopback: Bool

    func get(_ url: String, headers: [(String, String)] = []) async throws(FederationFailure) -> Answer {
        try await send(url, method: .GET, headers: headers, body: nil)
    }

    /// An `application/x-www-form-urlencoded` POST (RFC 6749 §4.1.3).
    func postForm(_ url: String, fields: [(String, String)], headers: [(String, String)] = []) async throws(FederationFailure) -> Answer {
        let body = fields.map { "\(Self.formEncode($0.0))=\(Self.formEncode($0.1))" }.joined(separator: "&")
        return try await send(url, method: .POST, headers: headers + [("Content-Type", "application/x-www-form-urlencoded")],
                              body: Array(body.utf8))
    }

    private func send(_ url: String, method: HTTPMethod, headers: [(String, String)], body: [UInt8]?) async throws(FederationFailure) -> Answer {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(), let rawHost = parts.host,
              scheme == "https" || (scheme == "http" && allowLoopback) else {
            throw FederationFailure(.providerError, "the provider named an address Gatehouse may not use (\(Self.origin(url)))")
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let port = parts.port ?? (scheme == "https" ? 443 : 80)
        let address: SocketAddress
        do {
            address = try await ClientMetadataFetcher(allowLoopback: allowLoopback).checkedAddress(host: host, port: port)
        } catch {
            throw FederationFailure(error.transient ? .providerUnavailable : .providerError, "the provider's address: \(error.reason)")
        }
        let client = PinnedHTTPClient.make(rawHost: rawHost, host: host, port: port, address: address, timeout: Self.timeout)
        let result: Result<Answer, FederationFailure>
        do {
            var request = HTTPClientRequest(url: url)
            request.method = method
            if !headers.contains(where: { $0.0.lowercased() == "accept" }) {
                request.headers.add(name: "Accept", value: "application/json")
            }
            request.headers.add(name: "User-Agent", value: "Gatehouse-AuthServer (federation)")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
            let response = try await client.execute(request, timeout: Self.timeout)
            let collected = try await response.body.collect(upTo: Self.maximumBytes)
            result = .success(Answer(status: Int(response.status.code), body: Array(buffer: collected),
                                     cacheControl: response.headers.first(name: "cache-control")))
        } catch is NIOTooManyBytesError {
            result = .failure(FederationFailure(.providerError, "the provider's answer from \(Self.origin(url)) is larger than \(Self.maximumBytes) bytes"))
        } catch {
            result = .failure(FederationFailure(.providerUnavailable, "the provider at \(Self.origin(url)) could not be reached"))
        }
        try? await client.shutdown()
        return try result.get()
    }

    /// Scheme, host and port only: what a message may say about a URL.
    static func origin(_ url: String) -> String {
        guard let parts = URLComponents(string: url), let scheme = parts.scheme, let host = parts.host else { return "an invalid URL" }
        return "\(scheme)://\(host)\(parts.port.map { ":\($0)" } ?? "")"
    }

    /// RFC 6749 Appendix B: `application/x-www-form-urlencoded`, space as `+`.
    static func formEncode(_ value: String) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._*")
        return (value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "").replacingOccurrences(of: "%20", with: "+")
    }
}
