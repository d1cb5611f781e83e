import AsyncHTTPClient
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat
import Shared

/// Obtains tokens for upstreams by OAuth 2.0 Token Exchange (RFC 8693) at our AuthServer, so an
/// upstream receives a short-lived token of its own (`aud` = the upstream URL, `act` = the client)
/// and never the client's token.
///
/// RFC 8693 §2.1: "The client makes a token exchange request to the token endpoint with an extended
/// token request containing the following parameters using the application/x-www-form-urlencoded
/// format": `grant_type` (`urn:ietf:params:oauth:grant-type:token-exchange`), `subject_token`,
/// `subject_token_type`, and here `audience`. The ResourceServer authenticates as its own
/// confidential client with HTTP Basic (RFC 6749 §2.3.1).
///
/// Tokens are cached per (subject token `jti`, audience) until shortly before they expire, so a
/// session's calls cost one exchange per token lifetime; the cache is bounded. The subject token is
/// validated (signature, audience, revocation) on every request before this is reached, so a cached
/// exchanged token is never handed out for a revoked subject token.
final class TokenExchangeClient: Sendable {
    struct Credentials: Sendable {
        var clientID: String
        var clientSecret: String
    }

    static let grantType = "urn:ietf:params:oauth:grant-type:token-exchange"
    static let accessTokenType = "urn:ietf:params:oauth:token-type:access_token"

    private struct Entry: Sendable {
        var token: String
        /// When the cached token stops being handed out (before its real expiry).
        var usableUntil: Int
    }

    let tokenEndpoint: String
    let credentials: Credentials
    let httpClient: HTTPClient
    let clock: Clock
    let capacity: Int
    let timeout: TimeAmount
    private let cache = NIOLockedValueBox<[String: Entry]>([:])

    init(tokenEndpoint: String, credentials: Credentials, httpClient: HTTPClient, clock: Clock = .system,
         capacity: Int = 10_000, timeout: TimeAmount = .seconds(5)) {
        self.tokenEndpoint = tokenEndpoint
        self.credentials = credentials
        self.httpClient = httpClient
        self.clock = clock
        self.capacity = capacity
        self.timeout = timeout
    }

    /// A token for `audience` on behalf of the holder of `subjectToken` (whose `jti` is `tokenID`).
    func token(subjectToken: String, tokenID: String, audience: String, logger: Logger) async throws(TokenExchangeError) -> String {
        let key = tokenID + "\u{0}" + audience
        let now = clock.seconds
        if let entry = cache.withLockedValue({ $0[key] }), entry.usableUntil > now { return entry.token }
        let (token, expiresIn) = try await exchange(subjectToken: subjectToken, audience: audience, logger: logger)
        let entry = Entry(token: token, usableUntil: now + expiresIn - Self.margin(expiresIn))
        cache.withLockedValue { cache in
            if cache.count >= capacity {
                cache = cache.filter { $0.value.usableUntil > now }
                if cache.count >= capacity { cache.removeAll(keepingCapacity: true) }
            }
            cache[key] = entry
        }
        return token
    }

    /// How long before `exp` a cached token is replaced: a fifth of its life, between 5 and 30 s,
    /// so an upstream never receives a token that expires while the call is in flight.
    static func margin(_ lifetime: Int) -> Int { min(30, max(5, lifetime / 5)) }

    var cachedCount: Int { cache.withLockedValue { $0.count } }

    private func exchange(subjectToken: String, audience: String, logger: Logger) async throws(TokenExchangeError) -> (String, Int) {
        var request = HTTPClientRequest(url: tokenEndpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "Authorization", value: Self.basicAuthorization(credentials))
        request.body = .bytes(ByteBuffer(string: Self.form([
            "grant_type": Self.grantType,
            "subject_token": subjectToken,
            "subject_token_type": Self.accessTokenType,
            "audience": audience,
        ])))
        let status: UInt
        let body: ByteBuffer
        do {
            let response = try await httpClient.execute(request, deadline: .now() + timeout, logger: logger)
            status = response.status.code
            body = try await response.body.collect(upTo: 64 * 1024)
        } catch {
            throw .unavailable(String(describing: error))
        }
        let reply = try? JSONDecoder().decode(Reply.self, from: Data(buffer: body))
        guard status == 200 else {
            throw status >= 500 ? .unavailable("token endpoint answered \(status)")
                : .refused(status: Int(status), error: reply?.error ?? "unknown", description: reply?.error_description)
        }
        guard let reply, let token = reply.access_token, !token.isEmpty, reply.token_type?.lowercased() == "bearer" else {
            throw .unavailable("token endpoint answered 200 without a bearer access_token")
        }
        return (token, max(1, reply.expires_in ?? 60))
    }

    private struct Reply: Decodable {
        var access_token: String?
        var token_type: String?
        var expires_in: Int?
        var issued_token_type: String?
        var error: String?
        var error_description: String?
    }

    /// RFC 6749 §2.3.1: "the client identifier is encoded using the application/x-www-form-urlencoded
    /// encoding algorithm … and the encoded value is used as the username; the client password is
    /// encoded using the same algorithm and used as the password."
    static func basicAuthorization(_ credentials: Credentials) -> String {
        let pair = formEncode(credentials.clientID) + ":" + formEncode(credentials.clientSecret)
        return "Basic " + Data(pair.utf8).base64EncodedString()
    }

    static func form(_ fields: KeyValuePairs<String, String>) -> String {
        fields.map { formEncode($0.key) + "=" + formEncode($0.value) }.joined(separator: "&")
    }

    /// application/x-www-form-urlencoded: unreserved characters stay, space is `+`, the rest `%XX`.
    static func formEncode(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                 UInt8(ascii: "*"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                out += "+"
            default:
                out += String(format: "%%%02X", byte)
            }
        }
        return out
    }
}

/// Why no token could be obtained for an upstream.
enum TokenExchangeError: Error, Sendable, CustomStringConvertible {
    /// The AuthServer could not be reached or failed (answer 503: try again).
    case unavailable(String)
    /// The AuthServer refused the exchange (`invalid_grant` for a revoked subject token,
    /// `invalid_client`/`unauthorized_client` for a misconfigured ResourceServer client).
    case refused(status: Int, error: String, description: String?)

    var description: String {
        switch self {
        case .unavailable(let reason): "token exchange unavailable: \(reason)"
        case .refused(let status, let error, let description):
            "token exchange refused (\(status) \(error))" + (description.map { ": \($0)" } ?? "")
        }
    }
}
