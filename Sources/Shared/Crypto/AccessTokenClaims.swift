/// The `aud` claim: RFC 7519 §4.1.3: "In the general case, the "aud" value is an array of case-sensitive
/// strings ... In the special case when the JWT has one audience, the "aud" value MAY be a single
/// case-sensitive string".
public enum Audience: Codable, Sendable, Equatable {
    case one(String)
    case many([String])

    public var values: [String] {
        switch self {
        case .one(let value): [value]
        case .many(let values): values
        }
    }

    /// Exact (byte) comparison: "case-sensitive", and no Unicode normalisation either.
    public func contains(_ audience: String) -> Bool {
        values.contains { Array($0.utf8) == Array(audience.utf8) }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let single = try? container.decode(String.self) {
            self = .one(single)
        } else {
            self = .many(try container.decode([String].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .one(let value): try container.encode(value)
        case .many(let values): try container.encode(values)
        }
    }
}

/// RFC 9068 §2.2 access-token claims: "iss", "exp", "aud", "sub", "client_id", "iat" and "jti" are REQUIRED;
/// "scope" carries the granted scopes (§2.2.3).
public struct AccessTokenClaims: Codable, Sendable, Equatable {
    public var iss: String
    public var sub: String
    public var aud: Audience
    public var client_id: String
    public var scope: String
    public var iat: Int
    public var exp: Int
    public var nbf: Int?
    public var jti: String

    public init(iss: String, sub: String, aud: Audience, client_id: String, scope: String,
                iat: Int, exp: Int, nbf: Int? = nil, jti: String) {
        self.iss = iss
        self.sub = sub
        self.aud = aud
        self.client_id = client_id
        self.scope = scope
        self.iat = iat
        self.exp = exp
        self.nbf = nbf
        self.jti = jti
    }

    /// RFC 9068 §4: "The issuer identifier for the authorization server ... MUST exactly match the value of
    /// the "iss" claim", and the resource server "MUST validate that the "aud" claim contains a resource
    /// indicator value corresponding to an identifier the resource server expects for itself", and "MUST
    /// check that the current time is before the time represented by the "exp" claim".
    /// `now` is injected (seconds since 1970); `leeway` absorbs clock skew between servers.
    ///
    /// `maximumLifetime` (the configured access-token lifetime) bounds `exp − iat` (plus the leeway):
    /// a token that claims to live longer was not issued under this configuration, for example one
    /// minted with a stolen key to outlive the key's retirement, and is refused.
    public func validate(issuer: String, audience: String, now: Int, leeway: Int = 30,
                         maximumLifetime: Int? = nil) throws(JWTError) {
        guard Array(iss.utf8) == Array(issuer.utf8) else { throw .wrongIssuer }
        guard aud.contains(audience) else { throw .wrongAudience }
        guard exp > now - leeway else { throw .expired }
        if let nbf, nbf > now + leeway { throw .notYetValid }
        guard iat <= now + leeway else { throw .issuedInFuture }
        // `exp − iat` overflows Int for exp near Int.max and iat near Int.min (FuzzJWT, docs/testing.md):
        // such a lifetime is too long, never a trap.
        if let maximumLifetime {
            let (lifetime, overflow) = exp.subtractingReportingOverflow(iat)
            if overflow || lifetime > maximumLifetime + leeway { throw .lifetimeTooLong }
        }
    }
}
