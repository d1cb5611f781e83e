import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Gatehouse as the OAuth client of one connection's provider: the code exchange after a connect
/// (AuthServer), the refresh before a tool call (ResourceServer) and the revocation on disconnect.
///
/// Every request goes to the configured endpoint under the address rules of metadata documents
/// (`OutboundAddressPolicy`): the host is resolved here, a loopback, private, link-local or
/// reserved address refused (loopback only with `allow_insecure_loopback`), and the connection
/// pinned to the checked address. No redirect is followed, 2 s to connect and 2 s per read (a refresh runs while
/// its row is locked), 64 KiB per answer. Nothing of a token appears in a failure's text.
public struct ConnectionTokenClient: Sendable, CustomStringConvertible {
    public let connection: ConnectionConfiguration
    private let clientSecret: String?
    private let clock: Clock

    /// Connect plus read stay under the database's 5 s transaction deadline: a refresh holds its row lock meanwhile.
    static let timeout: TimeAmount = .seconds(2)
    static let maximumAnswer = 64 * 1024

    public init(connection: ConnectionConfiguration, clientSecret: String?, clock: Clock) {
        self.connection = connection
        self.clientSecret = clientSecret
        self.clock = clock
    }

    public var description: String { "ConnectionTokenClient(\(connection.id), secret: <redacted>)" }

    /// RFC 6749 §4.1.3 (and RFC 7636 §4.5 `code_verifier`).
    public func exchange(code: String, redirectURI: String, codeVerifier: String?) async -> ConnectionTokenOutcome {
        var form = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI)]
        if let codeVerifier { form.append(("code_verifier", codeVerifier)) }
        return await tokenRequest(form)
    }

    /// RFC 6749 §6.
    public func refresh(_ refreshToken: String) async -> ConnectionTokenOutcome {
        await tokenRequest([("grant_type", "refresh_token"), ("refresh_token", refreshToken)])
    }

    /// RFC 7009 §2.1, when a `revocation_endpoint` is configured; best effort (the row is gone
    /// whatever the provider answers). True when the provider answered 200.
    @discardableResult
    public func revoke(_ token: String, hint: String) async -> Bool {
        await revocation(token, hint: hint) == .revoked
    }

    /// What one revocation request gave, for an operator (`users disable` prints and audits it).
    public enum RevocationOutcome: Sendable, Equatable {
        /// RFC 7009 §2.2: "The authorization server responds with HTTP status code 200 if the
        /// token has been revoked successfully or if the client submitted an invalid token."
        case revoked
        /// The connection has no `revocation_endpoint`.
        case notConfigured
        /// Any other status (e.g. 400 `unsupported_token_type`, 503).
        case refused(status: UInt)
        /// Nothing was answered (unreachable, refused address, too large); `reason` holds no token.
        case failed(reason: String)
    }

    /// RFC 7009 §2.1 with the outcome spelled out; `revoke` is this reduced to "revoked or not".
    public func revocation(_ token: String, hint: String) async -> RevocationOutcome {
        guard let endpoint = connection.revocationEndpoint else { return .notConfigured }
        switch await post(endpoint, form: [("token", token), ("token_type_hint", hint)]) {
        case .failure(let failure): return .failed(reason: failure.message)
        case .success(let answer): return answer.status == .ok ? .revoked : .refused(status: answer.status.code)
        }
    }

    // MARK: -

    private func tokenRequest(_ form: [(String, String)]) async -> ConnectionTokenOutcome {
        let now = clock.now()
        switch await post(connection.tokenEndpoint, form: form) {
        case .failure(let reason):
            return .failed(reason: reason.message)
        case .success(let answer):
            return Self.outcome(status: answer.status.code, body: answer.body, now: now)
        }
    }

    /// RFC 6749 §5.1 (a success: `access_token`, `token_type`, `expires_in`, `refresh_token`,
    /// `scope`) or §5.2 (an error: `error`).
    static func outcome(status: UInt, body: [UInt8], now: Date) -> ConnectionTokenOutcome {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] else {
            return .failed(reason: "the token endpoint answered HTTP \(status) without a JSON object")
        }
        if status == 200 {
            guard let access = object["access_token"] as? String, !access.isEmpty else {
                return .failed(reason: "the token endpoint's answer has no access_token")
            }
            if let type = object["token_type"] as? String, type.lowercased() != "bearer" {
                return .failed(reason: "the token endpoint issued a \(type.prefix(20)) token, not a Bearer token")
            }
            let expiresIn = (object["expires_in"] as? NSNumber)?.doubleValue
            return .tokens(ConnectionTokens(
                accessToken: access, refreshToken: (object["refresh_token"] as? String).flatMap { $0.isEmpty ? nil : $0 },
                expiresAt: expiresIn.map { now.addingTimeInterval($0) }, scopes: object["scope"] as? String ?? ""))
        }
        if (400..<500).contains(status), let error = object["error"] as? String {
            // Only the code: an error_description could quote what was sent.
            return .refused(error: String(error.prefix(64)))
        }
        return .failed(reason: "the token endpoint answered HTTP \(status)")
    }

    struct Answer: Sendable {
        let status: HTTPResponseStatus
        let body: [UInt8]
    }

    struct Failure: Error, Sendable {
        let message: String
    }

    private func post(_ endpoint: String, form: [(String, String)]) async -> Result<Answer, Failure> {
        guard let url = URLComponents(string: endpoint), let rawHost = url.host else {
            return .failure(Failure(message: "the endpoint is not a URL"))
        }
        let host = rawHost.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        let address: SocketAddress
        switch await checkedAddress(host: host, port: port) {
        case .success(let checked): address = checked
        case .failure(let failure): return .failure(failure)
        }
        let client = PinnedHTTPClient.make(rawHost: rawHost, host: host, port: port, address: address, timeout: Self.timeout)
        var request = HTTPClientRequest(url: endpoint)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
        request.headers.add(name: "Accept", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Gatehouse (connection \(connection.id))")
        var fields = form
        if let clientSecret {
            // RFC 6749 §2.3.1: client_secret_basic, each part form-encoded first.
            let credentials = Self.formEncode(connection.clientID) + ":" + Self.formEncode(clientSecret)
            request.headers.add(name: "Authorization", value: "Basic " + Data(credentials.utf8).base64EncodedString())
        } else {
            fields.append(("client_id", connection.clientID))
        }
        request.body = .bytes(ByteBuffer(string: fields.map { Self.formEncode($0.0) + "=" + Self.formEncode($0.1) }.joined(separator: "&")))
        let result: Result<Answer, Failure>
        do {
            let response = try await client.execute(request, timeout: Self.timeout)
            let body = try await response.body.collect(upTo: Self.maximumAnswer)
            result = .success(Answer(status: response.status, body: Array(buffer: body)))
        } catch is NIOTooManyBytesError {
            result = .failure(Failure(message: "the answer is larger than \(Self.maximumAnswer) bytes"))
        } catch {
            result = .failure(Failure(message: "\(host) could not be reached (\(String(describing: type(of: error))))"))
        }
        try? await client.shutdown()
        return result
    }

    private func checkedAddress(host: String, port: Int) async -> Result<SocketAddress, Failure> {
        let address: SocketAddress
        if let literal = try? SocketAddress(ipAddress: host, port: port) {
            address = literal
        } else {
            do {
                address = try await NIOThreadPool.singleton.runIfActive { try SocketAddress.makeAddressResolvingHost(host, port: port) }
            } catch {
                return .failure(Failure(message: "the host \(host) could not be resolved"))
            }
        }
        switch OutboundAddressPolicy.classify(address) {
        case .publicAddress: return .success(address)
        case .loopback where connection.allowInsecureLoopback: return .success(address)
        case .loopback: return .failure(Failure(message: "the host \(host) is a loopback address"))
        case .refused(let what): return .failure(Failure(message: "the host \(host) is \(what)"))
        }
    }

    /// application/x-www-form-urlencoded (WHATWG URL §5.2): unreserved characters as they are, space as `+`.
    public static func formEncode(_ value: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._*")
        allowed = allowed.intersection(CharacterSet(charactersIn: Unicode.Scalar(0)..<Unicode.Scalar(128)))
        return (value.addingPercentEncoding(withAllowedCharacters: allowed.union(CharacterSet(charactersIn: " "))) ?? "")
            .replacingOccurrences(of: " ", with: "+")
    }
}
