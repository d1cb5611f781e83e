import Foundation
import Shared

/// Clients the operator registers by hand (issue 13 item 1): Cursor's and Claude Desktop's
/// `oauthClientId`, Claude's "Advanced settings" (client ID and secret), VS Code's manual client
/// prompt. Created by `AuthServer clients create` or the config file's `clients:` list, never by
/// a request; `registration_kind` preregistered marks them, so reaping of unused dynamic
/// registrations leaves them alone.
///
/// Their redirect URIs pass the same `RedirectURIPolicy` as dynamic registration. Their redirect
/// URIs are chosen by the operator (`redirectURIsAreVetted`), and they may be `trusted`: the
/// consent page is skipped. That is for first-party clients only: whoever receives the code at a
/// loopback or private-use redirect URI (any app on the person's computer) then gets a token
/// without the person being asked (RFC 8252 §8.6).
extension Client {
    /// `registration_kind` of such a client.
    static let preregisteredKind = "preregistered"
    static let preregisteredGrantTypes = ["authorization_code", "refresh_token"]

    var isPreregistered: Bool { registrationKind == Self.preregisteredKind }

    /// A pre-registered client: public (`secret` nil, PKCE only) or confidential (the secret is
    /// stored as its SHA-256 hash, like every client secret). A confidential one authenticates with
    /// client_secret_basic or client_secret_post: the person types the ID and secret into the
    /// client, which picks the method itself (Claude's "Advanced settings" does not say which).
    static func preregistered(id: String, name: String, redirectURIs: [String], secret: String?, trusted: Bool,
                              now: Date) -> Client {
        // OAuth 2.1 §2.1 / RFC 8252: a client whose redirects all go to this computer is native.
        let native = redirectURIs.allSatisfy { RedirectURIPolicy.kind(of: $0) != .https }
        return Client(clientID: id, authMethod: secret == nil ? .none : .clientSecretBasic,
                      secretHash: secret.map { Digest.sha256($0) }, name: name, clientURI: nil, redirectURIs: redirectURIs,
                      grantTypes: preregisteredGrantTypes, scope: ScopeSet(nil), applicationType: native ? "native" : "web",
                      registrationKind: preregisteredKind, createdAt: now, trusted: trusted)
    }

    /// A client_id an operator may choose: 1 to 128 letters, digits or `. _ -`, so never a URL
    /// (which would read as a client ID metadata document) and safe in a shell and a URL.
    static func isValidPreregisteredID(_ id: String) -> Bool {
        PreregisteredClientConfiguration.isValidID(id)
    }

    /// A random client_id (144 bits) that `isValidPreregisteredID` accepts: base64url, but never
    /// starting with `-` or `_`, so `clients show ID` does not read it as an option.
    static func generatedPreregisteredID() -> String {
        for _ in 0..<100 {
            let id = SecureRandom.token(byteCount: 18)
            if isValidPreregisteredID(id) { return id }
        }
        return "c" + SecureRandom.token(byteCount: 18)
    }

    /// Problems with a list of redirect URIs, each naming the URI; empty when all are acceptable.
    static func redirectURIProblems(_ uris: [String]) -> [String] {
        if uris.isEmpty { return ["at least one redirect URI is required"] }
        return uris.compactMap { uri in RedirectURIPolicy.validate(uri).map { "\($0): \"\(uri)\"" } }
    }
}
