import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import Shared

/// Fetches a client ID metadata document, or a `private_key_jwt` client's JWK Set: one GET,
/// `Accept: application/json`, no redirects followed, 5 s, at most 5 KiB (a JWKS: 32 KiB), and
/// only from a public address.
///
/// The host is resolved here, the address checked against `OutboundAddressPolicy`, and the
/// connection pinned to that very address (AsyncHTTPClient's `dnsOverride`, which keeps SNI and
/// certificate checks on the hostname), so a second DNS answer cannot swap in an internal one.
struct ClientMetadataFetcher: Sendable {
    static let timeout: TimeAmount = .seconds(5)
    /// GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK: loopback addresses (and http to them) for tests.
    let allowLoopback: Bool

    struct Fetched: Sendable {
        let body: [UInt8]
        /// `Cache-Control: max-age`, or 0 for `no-store`/`no-cache`; nil when the header says nothing.
        let maxAge: Int?
    }

    /// A JWK Set is larger than a document: a few RSA keys of up to 4096 bits.
    static let maxJWKSBytes = 32 * 1024

    func fetch(_ clientID: String) async throws(ClientMetadataDocumentError) -> Fetched {
        let url = try ClientMetadataDocument.validateURL(clientID, allowLoopbackHTTP: allowLoopback)
        return try await fetch(clientID, parts: url, what: Resource(name: "the document", maxBytes: ClientMetadataDocument.maxBytes))
    }

    /// A client's `jwks_uri`, under the same rules as its document.
    func fetchJWKS(_ uri: String) async throws(ClientMetadataDocumentError) -> Fetched {
        let url = try ClientMetadataDocument.validateURL(uri, allowLoopbackHTTP: allowLoopback, label: "the jwks_uri")
        return try await fetch(uri, parts: url, what: Resource(name: "the JWKS", maxBytes: Self.maxJWKSBytes))
    }

    /// What is fetched, for messages and the size limit.
    struct Resource: Sendable {
        let name: String
        let maxBytes: Int
    }

    private func fetch(_ target: String, parts url: URLComponents, what: Resource) async throws(ClientMetadataDocumentError) -> Fetched {
        let rawHost = url.host ?? ""
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        let address = try await checkedAddress(host: host, port: port)

        let client = PinnedHTTPClient.make(rawHost: rawHost, host: host, port: port, address: address, timeout: Self.timeout)
        let result: Result<Fetched, ClientMetadataDocumentError>
        do {
            result = .success(try await get(target, what: what, with: client))
        } catch let error as ClientMetadataDocumentError {
            result = .failure(error)
        } catch is NIOTooManyBytesError {
            result = .failure(.init("\(what.name) is larger than \(what.maxBytes) bytes"))
        } catch {
            result = .failure(.init("\(what.name) could not be fetched (\(Self.summary(of: error)))", transient: true))
        }
        try? await client.shutdown()
        return try result.get()
    }

    private func get(_ url: String, what: Resource, with client: HTTPClient) async throws -> Fetched {
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Gatehouse-AuthServer (client metadata)")
        let response = try await client.execute(request, timeout: Self.timeout)
        // §4.4: "The authorization server MUST NOT cache error responses." Redirects are errors
        // too: the document must be at the client_id URL itself.
        guard response.status == .ok else {
            throw ClientMetadataDocumentError("fetching \(what.name) returned HTTP \(response.status.code)",
                                              transient: response.status.code >= 500)
        }
        // §4.1: "served with more specific content types as long as the response is JSON".
        let mediaType = response.headers.first(name: "content-type")?.split(separator: ";").first?
            .trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json")) else {
            throw ClientMetadataDocumentError("\(what.name) is not served as JSON (Content-Type \(mediaType.prefix(60)))")
        }
        if let length = response.headers.first(name: "content-length").flatMap(Int.init), length > what.maxBytes {
            throw ClientMetadataDocumentError("\(what.name) is larger than \(what.maxBytes) bytes")
        }
        let body = try await response.body.collect(upTo: what.maxBytes)
        return Fetched(body: Array(buffer: body), maxAge: Self.maxAge(response.headers.first(name: "cache-control")))
    }

    /// Resolves `host` and refuses addresses the server must not reach (draft §6.5). Also the
    /// check of every request to an upstream identity provider (`ProviderHTTPClient`).
    func checkedAddress(host: String, port: Int) async throws(ClientMetadataDocumentError) -> SocketAddress {
        let address: SocketAddress
        if let literal = try? SocketAddress(ipAddress: host, port: port) {
            address = literal
        } else {
            do {
                address = try await NIOThreadPool.singleton.runIfActive {
                    try SocketAddress.makeAddressResolvingHost(host, port: port)
                }
            } catch {
                throw .init("the host \(host) could not be resolved", transient: true)
            }
        }
        switch OutboundAddressPolicy.classify(address) {
        case .publicAddress: return address
        case .loopback where allowLoopback: return address
        case .loopback: throw .init("the host \(host) is a loopback address")
        case .refused(let what): throw .init("the host \(host) is \(what)")
        }
    }

    /// RFC 9111 §5.2.2: `max-age=N`; `no-store` and `no-cache` mean "do not reuse" (0 here; the
    /// resolver's lower bound still applies).
    static func maxAge(_ header: String?) -> Int? {
        guard let header else { return nil }
        var result: Int?
        for directive in header.lowercased().split(separator: ",") {
            let parts = directive.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            switch parts.first ?? "" {
            case "no-store", "no-cache": return 0
            case "max-age" where parts.count == 2:
                result = Int(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\"")))
            default: continue
            }
        }
        return result
    }

    private static func summary(of error: any Error) -> String {
        if let error = error as? HTTPClientError { return String(describing: error).prefix(120).description }
        return String(describing: type(of: error))
    }
}
