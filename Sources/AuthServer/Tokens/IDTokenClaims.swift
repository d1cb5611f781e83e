import Foundation
import Shared

/// The claims of an OpenID Connect ID token (OpenID Connect Core §2, §3.1.3.6, §5.1).
///
/// §2: "iss REQUIRED … sub REQUIRED. Subject Identifier. A locally unique and never reassigned
/// identifier within the Issuer for the End-User … aud REQUIRED … It MUST contain the OAuth 2.0
/// client_id of the Relying Party as an audience value … exp REQUIRED … iat REQUIRED …
/// auth_time: Time when the End-User authentication occurred … nonce: … If present in the
/// Authentication Request, Authorization Servers MUST include a nonce Claim in the ID Token with
/// the Claim Value being the nonce value sent in the Authentication Request."
///
/// `sub` is the user's uuid: the same value as the access token's `sub`, stable across renames.
/// The profile claims appear only when their scope was granted and the operator set them.
struct IDTokenClaims: Codable, Sendable, Equatable {
    /// RFC 7519 §5.1 `typ: JWT`: an ID token is not an RFC 9068 access token (`at+jwt`).
    static let type = "JWT"

    var iss: String
    var sub: String
    var aud: String
    var exp: Int
    var iat: Int
    var auth_time: Int
    var nonce: String?
    var at_hash: String?
    // §5.4 `email` scope
    var email: String?
    var email_verified: Bool?
    // §5.4 `profile` scope
    var name: String?
    var preferred_username: String?

    init(issuer: String, user: User, clientID: String, scope: ScopeSet, nonce: String?, authTime: Date,
         accessToken: String?, now: Date, lifetime: Int) {
        let issuedAt = Int(now.timeIntervalSince1970)
        iss = issuer
        sub = user.id.uuidString.lowercased()
        aud = clientID
        iat = issuedAt
        exp = issuedAt + lifetime
        auth_time = Int(authTime.timeIntervalSince1970)
        self.nonce = nonce
        at_hash = accessToken.map(Self.atHash)
        let profile = UserInfoClaims(user: user, scope: scope)
        email = profile.email
        email_verified = profile.email_verified
        name = profile.name
        preferred_username = profile.preferred_username
    }

    /// §3.1.3.6: "Its value is the base64url encoding of the left-most half of the hash of the
    /// octets of the ASCII representation of the access_token value, where the hash algorithm
    /// used is the hash algorithm used in the alg Header Parameter of the ID Token's JOSE Header.
    /// For instance, if the alg is RS256, hash the access_token value with SHA-256, then take the
    /// left-most 128 bits and base64url-encode them."
    static func atHash(_ accessToken: String) -> String {
        Base64URL.encode(Array(Digest.sha256(Array(accessToken.utf8)).prefix(16)))
    }
}

/// The claims about the person that `/userinfo` returns and the ID token repeats, by scope
/// (OpenID Connect Core §5.4): `email` → email, email_verified; `profile` → name,
/// preferred_username. Claims the operator has not set are left out (§5.3.2: "If a Claim is not
/// returned, that Claim Name SHOULD be omitted from the JSON object").
struct UserInfoClaims: Codable, Sendable, Equatable {
    var sub: String
    var email: String?
    var email_verified: Bool?
    var name: String?
    var preferred_username: String?

    init(user: User, scope: ScopeSet) {
        sub = user.id.uuidString.lowercased()
        if scope.contains(ScopeCatalog.email), let address = user.email {
            email = address
            email_verified = user.emailVerified
        }
        if scope.contains(ScopeCatalog.profile) {
            name = user.name
            preferred_username = user.username
        }
    }
}
