import Foundation
import Shared

/// The claims of a `private_key_jwt` client assertion, checked with the time passed in.
///
/// RFC 7523 §3: "1. The JWT MUST contain an "iss" (issuer) claim that contains a unique
/// identifier for the entity that issued the JWT." "2.B. For client authentication, the subject
/// MUST be the "client_id" of the OAuth client." "3. The JWT MUST contain an "aud" (audience)
/// claim containing a value that identifies the authorization server as an intended audience.
/// ... the token endpoint URL of the authorization server MAY be used". "4. The JWT MUST contain
/// an "exp" (expiration time) claim that limits the time window during which the JWT can be
/// used." RFC 7523 §2.2 and OIDC Core §9 set `iss` to the client_id as well.
struct ClientAssertionClaims: Decodable, Sendable {
    static let leeway: TimeInterval = 30
    /// An assertion lives minutes, not hours: that bounds how long its `jti` must be remembered.
    static let maximumLifetime: TimeInterval = 300
    static let maximumJTILength = 256

    let iss: String
    let sub: String
    let aud: Audience
    /// NumericDate: seconds, possibly fractional (RFC 7519 §2).
    let exp: Double
    let jti: String
    let iat: Double?
    let nbf: Double?

    var expiresAt: Date { Date(timeIntervalSince1970: exp) }

    /// Nil when valid, otherwise why not (safe for an `error_description`).
    func problem(clientID: String, audiences: Set<String>, now: Date) -> String? {
        let now = now.timeIntervalSince1970
        guard iss == clientID, sub == clientID else { return "the assertion's iss and sub must both be the client_id" }
        guard aud.values.contains(where: audiences.contains) else {
            return "the assertion's aud must be the token endpoint URL or the issuer"
        }
        guard exp + Self.leeway > now else { return "the assertion has expired" }
        guard exp <= now + Self.maximumLifetime + Self.leeway else {
            return "the assertion's exp is more than \(Int(Self.maximumLifetime)) seconds ahead"
        }
        if let nbf, nbf > now + Self.leeway { return "the assertion is not valid yet" }
        if let iat, iat > now + Self.leeway { return "the assertion was issued in the future" }
        guard !jti.isEmpty, jti.count <= Self.maximumJTILength, !ClientRegistrationRequest.containsControlCharacter(jti) else {
            return "the assertion's jti is empty, too long or holds control characters"
        }
        return nil
    }
}
