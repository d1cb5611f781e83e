import Foundation
import HTTPTypes
import Hummingbird
import Shared

/// Cross-site request forgery protection for the forms of a signed-in person (the account page,
/// `POST /logout`) and of the account page's own sign-in form.
///
/// The consent form's token belongs to its pending request, stored with it; these forms have no
/// such request, so their token is bound to the browser's own secret instead: the form carries
/// `base64url(SHA-256(purpose ‖ 0 ‖ cookie value))`, computed from the `HttpOnly` session (or
/// sign-in) cookie. Another site can make the browser send the cookie but can neither read it nor
/// the page, so it cannot produce the token; the token reveals nothing about the cookie; and
/// signing out (the row deleted, the cookie cleared) ends it. OWASP's CSRF cheat sheet calls this a
/// synchronizer token; the SameSite=Lax cookie is a second layer, not the defence.
///
/// Fetch metadata is checked as well when the browser sends it: a cross-site `Origin` (other than
/// `null`: our pages send `Referrer-Policy: no-referrer`, and the Fetch standard then serializes
/// the origin of every form POST as `null`) or `Sec-Fetch-Site: cross-site`/`same-site` is refused
/// before the token is even compared.
struct SessionFormGuard: Sendable {
    /// `scheme://host[:port]` of the issuer: the only origin our forms are posted from.
    let origin: String

    init(issuer: String) {
        var parts = URLComponents(string: issuer) ?? URLComponents()
        parts.path = ""
        parts.query = nil
        parts.fragment = nil
        origin = (parts.string ?? issuer).lowercased()
    }

    enum Purpose: String, Sendable {
        /// Forms of a signed-in person: bound to the session cookie.
        case session = "gatehouse session form"
        /// The account page's sign-in form: bound to the `gh_signin` cookie (login CSRF).
        case signIn = "gatehouse sign-in form"
    }

    /// The token a form carries for the browser holding `secret` (a cookie value).
    static func token(_ purpose: Purpose, secret: String) -> String {
        Base64URL.encode(Digest.sha256(Array(purpose.rawValue.utf8) + [0] + Array(secret.utf8)))
    }

    /// Whether the request may change state: its fetch metadata does not say it came from another
    /// site, and `submitted` is the token for `secret`. Nil secret (no cookie) never passes.
    func allows(_ request: Request, purpose: Purpose, secret: String?, submitted: String?) -> Bool {
        guard isSameOrigin(request), let secret, let submitted else { return false }
        return constantTimeEquals(Array(submitted.utf8), Array(Self.token(purpose, secret: secret).utf8))
    }

    func isSameOrigin(_ request: Request) -> Bool {
        if let origin = request.headers[.origin]?.lowercased(), origin != "null", origin != self.origin {
            return false
        }
        if let site = request.headers[.secFetchSite]?.lowercased(), site == "cross-site" || site == "same-site" {
            return false
        }
        return true
    }
}

extension HTTPField.Name {
    static let secFetchSite = HTTPField.Name("Sec-Fetch-Site")!
}
