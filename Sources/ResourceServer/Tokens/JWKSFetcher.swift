import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import Shared

/// Fetches the authorization server's signing keys over HTTP: the RFC 8414 metadata (for `jwks_uri`)
/// and then the JWK Set, with the lifetime the AS gave it in `Cache-Control: max-age`.
struct JWKSFetcher: Sendable {
    struct Result: Sendable {
        var keys: [String: RSAKey]
        var maxAge: TimeInterval
        var jwksURI: String
    }

    enum FetchError: Error, CustomStringConvertible {
        case status(url: String, code: UInt)
        case invalidDocument(url: String, reason: String)

        var description: String {
            switch self {
            case .status(let url, let code): "GET \(url) answered \(code)"
            case .invalidDocument(let url, let reason): "\(url): \(reason)"
            }
        }
    }

    let issuer: String
    let httpClient: HTTPClient
    var timeout: TimeAmount = .seconds(5)
    /// Used when the AS sends no usable `max-age`.
    static let defaultMaxAge: TimeInterval = 300
    static let maxAgeRange: ClosedRange<TimeInterval> = 10...86_400
    static let maximumDocumentSize = 1 << 20

    /// RFC 8414 §3: "the well-known URI suffix is inserted between the host component and the path
    /// component" of the issuer (`https://as.example.com/t` → `/.well-known/oauth-authorization-server/t`).
    var metadataURL: String {
        guard let parts = URLComponents(string: issuer), let scheme = parts.scheme, let host = parts.host else {
            return issuer + "/.well-known/oauth-authorization-server"
        }
        let port = parts.port.map { ":\($0)" } ?? ""
        return "\(scheme)://\(host)\(port)/.well-known/oauth-authorization-server\(parts.path)"
    }

    /// `jwksURI` is the configured override or the one discovered earlier; nil means discover now.
    func fetch(jwksURI known: String?) async throws -> Result {
        let jwksURI: String
        if let known { jwksURI = known } else { jwksURI = try await discoverJWKSURI() }
        let (body, headers) = try await get(jwksURI)
        let jwks: JWKS
        do { jwks = try JSONDecoder().decode(JWKS.self, from: body) } catch {
            throw FetchError.invalidDocument(url: jwksURI, reason: "not a JWK Set")
        }
        var keys: [String: RSAKey] = [:]
        // RFC 7517 §4.2/§4.4: only signature keys for RS256 are of any use to us; others are skipped.
        for jwk in jwks.keys where jwk.kty == "RSA" && (jwk.use ?? "sig") == "sig" && (jwk.alg ?? "RS256") == "RS256" {
            guard let kid = jwk.kid, !kid.isEmpty, let key = try? RSAKey(publicJWK: jwk) else { continue }
            keys[kid] = key
        }
        return Result(keys: keys, maxAge: Self.maxAge(cacheControl: headers["cache-control"].first), jwksURI: jwksURI)
    }

    /// RFC 8414 §3.3: "The "issuer" value returned MUST be identical to the authorization server's
    /// issuer identifier value into which the well-known URI string was inserted".
    private func discoverJWKSURI() async throws -> String {
        struct Metadata: Decodable { var issuer: String; var jwks_uri: String? }
        let url = metadataURL
        let (body, _) = try await get(url)
        guard let metadata = try? JSONDecoder().decode(Metadata.self, from: body) else {
            throw FetchError.invalidDocument(url: url, reason: "not authorization server metadata")
        }
        guard Array(metadata.issuer.utf8) == Array(issuer.utf8) else {
            throw FetchError.invalidDocument(url: url, reason: "issuer does not match the configured issuer")
        }
        guard let jwksURI = metadata.jwks_uri else {
            throw FetchError.invalidDocument(url: url, reason: "no jwks_uri")
        }
        return jwksURI
    }

    private func get(_ url: String) async throws -> (Data, HTTPHeaders) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await httpClient.execute(request, timeout: timeout)
        guard response.status == .ok else { throw FetchError.status(url: url, code: response.status.code) }
        let body = try await response.body.collect(upTo: Self.maximumDocumentSize)
        return (Data(buffer: body), response.headers)
    }

    /// RFC 9111 §5.2.2.1 `max-age`; `no-store`/`no-cache` mean "as short as we allow".
    static func maxAge(cacheControl: String?) -> TimeInterval {
        guard let cacheControl else { return defaultMaxAge }
        var result = defaultMaxAge
        for directive in cacheControl.split(separator: ",") {
            let parts = directive.trimmingCharacters(in: .whitespaces).lowercased().split(separator: "=", maxSplits: 1)
            switch parts.first {
            case "max-age":
                if parts.count == 2, let seconds = TimeInterval(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))) {
                    result = seconds
                }
            case "no-store", "no-cache":
                return maxAgeRange.lowerBound
            default:
                continue
            }
        }
        return min(max(result, maxAgeRange.lowerBound), maxAgeRange.upperBound)
    }
}
