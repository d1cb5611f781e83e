import Foundation
import FuzzSupport
import Shared

// libFuzzer harness for client metadata: an RFC 7591 registration body
// (`ClientRegistrationRequest(json:)`), the same bytes as a client ID metadata document
// (`ClientMetadataDocument`, for the URL in its own `client_id`, else a fixed one), and that URL
// (`ClientMetadataDocument.validateURL`). Built and run only by scripts/fuzz.sh
// (docs/testing.md "Fuzzing").
//
// Invariants, each a crash when broken:
// - a refused registration is `invalid_client_metadata` or `invalid_redirect_uri` (RFC 7591 §3.2.2);
// - an accepted one has 1 to 20 redirect URIs, each accepted by `RedirectURIPolicy`; grant types
//   within authorization_code and refresh_token, with authorization_code; only grantable scopes;
//   names and URIs without control characters and within the field limit; application_type web
//   or native; keys only for private_key_jwt, and then exactly one of jwks_uri and jwks;
// - an accepted document is at most 5 KiB without NUL, names the URL it was fetched from, uses
//   none or private_key_jwt, and is stored as received;
// - an accepted client_id URL is https (http loopback only when allowed) with a host, a path
//   without dot segments, no credentials, no fragment, at most 512 characters.

let grantable = ScopeCatalog.grantableNames
let fallbackClientID = "https://app.example.com/oauth/client.json"

func checkRequest(_ request: ClientRegistrationRequest, label: String) {
    require((1...ClientRegistrationRequest.maxRedirectURIs).contains(request.redirectURIs.count), "\(label): redirect URI count")
    for uri in request.redirectURIs {
        require(RedirectURIPolicy.validate(uri) == nil, "\(label): accepted redirect URI \(uri.debugDescription)")
    }
    require(!request.grantTypes.isEmpty && request.grantTypes.allSatisfy(["authorization_code", "refresh_token"].contains)
            && request.grantTypes.contains("authorization_code"), "\(label): grant types \(request.grantTypes)")
    require(request.scope.tokens.allSatisfy(grantable.contains), "\(label): scope \(request.scope) is not grantable")
    for text in [request.name, request.clientURI].compactMap({ $0 }) {
        require(!ClientRegistrationRequest.containsControlCharacter(text) && text.count <= ClientRegistrationRequest.maxFieldLength,
                "\(label): a name or URI with control characters or too long")
    }
    if let uri = request.clientURI {
        require(["http", "https"].contains(URLComponents(string: uri)?.scheme?.lowercased() ?? ""), "\(label): client_uri \(uri)")
    }
    require(["web", "native"].contains(request.applicationType), "\(label): application_type \(request.applicationType)")
    if request.authMethod == .privateKeyJWT {
        require((request.keys.jwksURI == nil) != (request.keys.jwks == nil), "\(label): private_key_jwt without exactly one key source")
        if let set = request.keys.jwks {
            require(!ClientKeyMetadata.usableKeys(set).isEmpty && set.keys.count <= ClientKeyMetadata.maxInlineKeys,
                    "\(label): jwks without a usable key or with too many")
        }
    } else {
        require(request.keys.jwksURI == nil && request.keys.jwks == nil && request.keys.signingAlgorithm == nil,
                "\(label): keys for \(request.authMethod.rawValue)")
    }
}

func checkURL(_ url: String) {
    for allowLoopback in [false, true] {
        guard let parts = try? ClientMetadataDocument.validateURL(url, allowLoopbackHTTP: allowLoopback) else { continue }
        let scheme = parts.scheme?.lowercased()
        require(url.count <= ClientMetadataDocument.maxClientIDLength, "accepted a client_id over the limit")
        require(scheme == "https" || (allowLoopback && scheme == "http" && HTTPURL.isLoopbackHost(parts.host ?? "")),
                "accepted client_id scheme \(String(describing: scheme)) (loopback allowed: \(allowLoopback))")
        require(!(parts.host ?? "").isEmpty && parts.user == nil && parts.password == nil && parts.fragment == nil
                && !url.contains("#"), "accepted client_id \(url.debugDescription)")
        let segments = parts.percentEncodedPath.split(separator: "/", omittingEmptySubsequences: false).dropFirst()
        require(segments.contains { !$0.isEmpty }, "accepted a client_id without path")
        require(!segments.contains { [".", ".."].contains($0.removingPercentEncoding ?? String($0)) },
                "accepted a client_id with a dot segment: \(url.debugDescription)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzClientMetadata(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let body = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        checkRequest(try ClientRegistrationRequest(json: body), label: "registration")
    } catch {
        require(error.code == .invalidClientMetadata || error.code == .invalidRedirectURI, "registration refused with \(error.code)")
    }

    let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
    let clientID = object?["client_id"] as? String ?? fallbackClientID
    checkURL(clientID)
    guard let document = try? ClientMetadataDocument(clientID: clientID, body: body, now: Date(timeIntervalSince1970: 1_700_000_000))
    else { return 0 }
    require(body.count <= ClientMetadataDocument.maxBytes && !ClientMetadataDocument.containsNULEscape(body), "accepted a large or NUL document")
    let client = document.client
    require(client.clientID == clientID && client.isMetadataDocument, "document client is not the URL's")
    require(client.authMethod == .none || client.authMethod == .privateKeyJWT, "document with auth method \(client.authMethod.rawValue)")
    require(client.secretHash == nil, "document client with a secret")
    require(document.json == String(decoding: body, as: UTF8.self), "document not kept as received")
    // The same fields pass the same checks as a registration.
    if let object, let request = try? ClientRegistrationRequest(metadata: object, defaultAuthMethod: .none) {
        checkRequest(request, label: "document")
        require(request.redirectURIs == client.redirectURIs && request.scope == client.scope, "document client differs from its metadata")
    } else {
        require(false, "accepted a document whose metadata is refused")
    }
    return 0
}

/// The entry point SwiftPM links as `main` (see `runLibFuzzer`).
@_cdecl("FuzzClientMetadata_main")
func fuzzClientMetadataMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzClientMetadata)
}
