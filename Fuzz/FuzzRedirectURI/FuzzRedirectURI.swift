import Foundation
import FuzzSupport
import Shared

// libFuzzer harness for `RedirectURIPolicy`: which redirect URIs a client may register, and which
// requested URI matches a registered one. One input is `requested` and, after the first newline,
// `registered` (without a newline both are the input). Built and run only by scripts/fuzz.sh
// (docs/testing.md "Fuzzing").
//
// Invariants, each a crash when broken:
// - an accepted URI is at most 2000 characters, absolute, without fragment or credentials, of no
//   forbidden scheme; https with a host, http only on a loopback host (RFC 8252 §7.3), any other
//   scheme RFC 3986 §3.1 syntax with a path or host; `kind(of:)` agrees with its scheme;
// - a registered URI matches itself;
// - a requested URI matches a different registered one only by the rule the policy states: both
//   http on the same loopback host, and the same string once the port is taken out of each
//   (RFC 8252 §7.3), never with a fragment.

/// The URI as written with its port (and the `:` before it) removed.
func withoutPort(_ uri: String) -> String? {
    guard var parts = URLComponents(string: uri) else { return nil }
    parts.port = nil
    return parts.string
}

func checkAccepted(_ uri: String) {
    guard RedirectURIPolicy.validate(uri) == nil else { return }
    require(uri.count <= 2000 && !uri.contains("#"), "accepted a long URI or one with a fragment")
    guard let parts = URLComponents(string: uri), let scheme = parts.scheme?.lowercased() else {
        return require(false, "accepted \(uri.debugDescription), which is not absolute")
    }
    require(!RedirectURIPolicy.forbiddenSchemes.contains(scheme), "accepted forbidden scheme \(scheme)")
    require(parts.user == nil && parts.password == nil, "accepted credentials in \(uri.debugDescription)")
    switch scheme {
    case "https":
        require(!(parts.host ?? "").isEmpty, "accepted https without host")
        require(RedirectURIPolicy.kind(of: uri) == .https, "https URI not of kind https")
    case "http":
        require(HTTPURL.isLoopbackHost(parts.host ?? ""), "accepted http on a non-loopback host: \(uri.debugDescription)")
        require(RedirectURIPolicy.kind(of: uri) == .loopback, "http URI not of kind loopback")
    default:
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789+-.".unicodeScalars)
        require(scheme.unicodeScalars.first.map { ("a"..."z").contains($0) } == true
                && scheme.unicodeScalars.allSatisfy(allowed.contains), "accepted scheme \(scheme.debugDescription)")
        require(!parts.percentEncodedPath.isEmpty || parts.host != nil, "accepted a private-use URI without path")
        require(RedirectURIPolicy.kind(of: uri) == .privateUse, "private-use URI of another kind")
    }
    require(RedirectURIPolicy.matches(uri, registered: [uri]), "a registered URI does not match itself")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRedirectURI(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data else { return 0 }
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let (requested, registered): (String, String)
    if let newline = text.firstIndex(of: "\n") {
        (requested, registered) = (String(text[..<newline]), String(text[text.index(after: newline)...]))
    } else {
        (requested, registered) = (text, text)
    }
    checkAccepted(requested)
    checkAccepted(registered)
    // Matching is only ever asked against URIs that passed validation at registration.
    guard RedirectURIPolicy.validate(registered) == nil, RedirectURIPolicy.matches(requested, registered: [registered]),
          requested != registered
    else { return 0 }
    let wanted = URLComponents(string: requested)
    require(wanted?.scheme?.lowercased() == "http" && HTTPURL.isLoopbackHost(wanted?.host ?? ""),
            "\(requested.debugDescription) matched \(registered.debugDescription) without being loopback http")
    require(wanted?.fragment == nil && !requested.contains("#"), "matched a requested URI with a fragment")
    require(withoutPort(requested) != nil && withoutPort(requested) == withoutPort(registered),
            "\(requested.debugDescription) matched \(registered.debugDescription) but differs in more than the port")
    return 0
}

/// The entry point SwiftPM links as `main` (see `runLibFuzzer`).
@_cdecl("FuzzRedirectURI_main")
func fuzzRedirectURIMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    runLibFuzzer(argc, argv, fuzzRedirectURI)
}
