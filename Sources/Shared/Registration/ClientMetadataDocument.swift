import Foundation

/// Why a client ID metadata document could not be used. `transient` failures (the host did not
/// answer, timed out, or answered 5xx) may fall back to a recent cached copy; every other one
/// means the client is refused now.
public struct ClientMetadataDocumentError: Error, Sendable, CustomStringConvertible {
    public let reason: String
    public let transient: Bool
    /// No fetch was made: the host's per-minute budget is spent (`OutboundFetchBudget`).
    public let budgetExhausted: Bool

    public init(_ reason: String, transient: Bool = false, budgetExhausted: Bool = false) {
        self.reason = reason
        self.transient = transient
        self.budgetExhausted = budgetExhausted
    }

    public var description: String { reason }

    /// What the authorize error page and `/token` say: the client could not be validated.
    public var oauthError: OAuthError { .invalidClient("client metadata document: \(reason)") }
}

/// A client that identifies itself by the URL of its metadata document instead of registering
/// (draft-ietf-oauth-client-id-metadata-document-00; MCP 2025-11-25 "Client ID Metadata Documents").
public struct ClientMetadataDocument: Sendable {
    /// §6.6: "The recommended maximum response size for client metadata documents is 5 kilobytes."
    public static let maxBytes = 5 * 1024
    public static let maxClientIDLength = 512

    /// The client as stored and used by the flows (`registration_kind` metadata_document).
    public let client: Client
    /// The document as fetched, kept in `clients.metadata` for operators.
    public let json: String

    /// Does this client_id name a metadata document rather than a registered client? Our own
    /// client ids are opaque random strings, so anything that looks like a URL is one.
    public static func isURLClientID(_ clientID: String) -> Bool {
        let lower = clientID.prefix(8).lowercased()
        return lower.hasPrefix("https://") || lower.hasPrefix("http://")
    }

    /// §3: "Client identifier URLs MUST have an "https" scheme, MUST contain a path component,
    /// MUST NOT contain single-dot or double-dot path segments, MUST NOT contain a fragment
    /// component and MUST NOT contain a username or password". Plain http is accepted only for a
    /// loopback host and only when `allowLoopbackHTTP` (tests) is set.
    /// The same rules guard a `private_key_jwt` client's `jwks_uri` (`label` names it in messages).
    public static func validateURL(_ clientID: String, allowLoopbackHTTP: Bool,
                            label: String = "the client_id URL") throws(ClientMetadataDocumentError) -> URLComponents {
        guard clientID.count <= maxClientIDLength else { throw .init("\(label) is too long") }
        guard let parts = URLComponents(string: clientID), let scheme = parts.scheme?.lowercased(),
              let host = parts.host, !host.isEmpty
        else { throw .init("\(label) is not an absolute URL") }
        switch scheme {
        case "https": break
        case "http" where allowLoopbackHTTP && HTTPURL.isLoopbackHost(host): break
        default: throw .init("\(label) must use https")
        }
        guard parts.user == nil, parts.password == nil else { throw .init("\(label) must not contain credentials") }
        guard parts.fragment == nil, !clientID.contains("#") else { throw .init("\(label) must not contain a fragment") }
        let segments = parts.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        guard segments.contains(where: { !$0.isEmpty }) else { throw .init("\(label) must contain a path") }
        let dotSegments: Set<String> = [".", "..", "%2e", "%2e%2e", ".%2e", "%2e."]
        guard !segments.contains(where: { dotSegments.contains($0.lowercased()) }) else {
            throw .init("\(label) must not contain . or .. path segments")
        }
        return parts
    }

    /// Validates a fetched document for `clientID`.
    ///
    /// §4.1: "The client metadata document MUST contain a client_id property whose value MUST
    /// match the URL of the document using simple string comparison"; "the
    /// token_endpoint_auth_method property MUST NOT include client_secret_post,
    /// client_secret_basic, client_secret_jwt, or any other method based around a shared
    /// symmetric secret"; "the client_secret and client_secret_expires_at properties MUST NOT be
    /// used". MCP 2025-11-25: the document "MUST include at least the following properties:
    /// client_id, client_name, redirect_uris". A published document holds no secret, so the
    /// methods accepted are `none` (the default when absent) and `private_key_jwt` (RFC 7523 §2.2)
    /// with the client's keys in `jwks_uri` or `jwks` (ChatGPT). Every other field is checked
    /// exactly as a dynamic registration is.
    public init(clientID: String, body: [UInt8], now: Date,
         grantableScopes: [String] = ScopeCatalog.grantableNames) throws(ClientMetadataDocumentError) {
        guard body.count <= Self.maxBytes else { throw .init("the document is larger than \(Self.maxBytes) bytes") }
        // The document is kept as jsonb, which refuses the \u0000 escape: refuse it here, as a
        // client error, rather than fail the insert (a 503 for what is the client's fault).
        guard !Self.containsNULEscape(body) else { throw .init("the document must not contain NUL characters") }
        guard let parsed = try? JSONSerialization.jsonObject(with: Data(body)), let object = parsed as? [String: Any] else {
            throw .init("the document is not a JSON object")
        }
        guard let documentID = object["client_id"] as? String else { throw .init("the document has no client_id") }
        guard documentID == clientID else { throw .init("the document's client_id does not match its URL") }
        guard let name = object["client_name"] as? String,
              !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
        else { throw .init("the document has no client_name") }
        guard object["client_secret"] == nil, object["client_secret_expires_at"] == nil else {
            throw .init("the document must not contain client_secret or client_secret_expires_at")
        }
        let accepted: Set<String> = [Client.AuthMethod.none.rawValue, Client.AuthMethod.privateKeyJWT.rawValue]
        if let method = object["token_endpoint_auth_method"], !(method is NSNull) {
            guard let name = method as? String, accepted.contains(name) else {
                throw .init("token_endpoint_auth_method must be none or private_key_jwt: a published document cannot carry a secret")
            }
        }
        let request: ClientRegistrationRequest
        do {
            request = try ClientRegistrationRequest(metadata: object, defaultAuthMethod: .none, grantableScopes: grantableScopes)
        } catch {
            throw .init(error.errorDescription ?? "the document's metadata is invalid")
        }
        client = Client(
            clientID: clientID, authMethod: request.authMethod, secretHash: nil, name: request.name, clientURI: request.clientURI,
            redirectURIs: request.redirectURIs, grantTypes: request.grantTypes, scope: request.scope,
            applicationType: request.applicationType, registrationKind: Client.metadataDocumentKind, createdAt: now,
            jwksURI: request.keys.jwksURI, jwks: request.keys.jwks, signingAlgorithm: request.keys.signingAlgorithm)
        json = String(decoding: body, as: UTF8.self)
    }

    /// Does the JSON text carry a NUL, raw or as the escape `\u0000` (in any case)?
    public static func containsNULEscape(_ body: [UInt8]) -> Bool {
        if body.contains(0) { return true }
        let text = String(decoding: body, as: UTF8.self).lowercased()
        return text.contains("\\u0000")
    }

    /// The host of a metadata-document client_id, shown on the consent page as the verified
    /// identity. §6.4: "The authorization server SHOULD display the hostname of the client_id on
    /// the authorization interface".
    public static func verifiedHost(of clientID: String) -> String? {
        guard let parts = URLComponents(string: clientID), let host = parts.host else { return nil }
        return parts.port.map { "\(host):\($0)" } ?? host
    }
}
