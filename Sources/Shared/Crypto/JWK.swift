/// An RSA or EC JSON Web Key (RFC 7517), limited to the members Gatehouse publishes and consumes
/// (EC keys only in clients' JWKS, for `private_key_jwt`).
/// Absent optionals are omitted when encoding, so a published JWKS carries no `null` members.
public struct JWK: Codable, Sendable, Equatable {
    /// RFC 7517 §4.1: "The "kty" (key type) parameter identifies the cryptographic algorithm family used with the key".
    public var kty: String
    /// RFC 7518 §6.3.1.1/§6.3.1.2: modulus and exponent, each a Base64urlUInt.
    public var n: String?
    public var e: String?
    public var kid: String?
    public var alg: String?
    public var use: String?
    /// RFC 7518 §6.2.1: curve and coordinates of an EC public key.
    public var crv: String?
    public var x: String?
    public var y: String?

    public init(kty: String, n: String? = nil, e: String? = nil, kid: String? = nil, alg: String? = nil, use: String? = nil,
                crv: String? = nil, x: String? = nil, y: String? = nil) {
        self.kty = kty
        self.crv = crv
        self.x = x
        self.y = y
        self.n = n
        self.e = e
        self.kid = kid
        self.alg = alg
        self.use = use
    }
}

/// RFC 7517 §5: "A JWK Set is a JSON object that represents a set of JWKs. The JSON object MUST have a
/// "keys" member".
public struct JWKS: Codable, Sendable, Equatable {
    public var keys: [JWK]

    public init(keys: [JWK]) {
        self.keys = keys
    }

    /// The key whose `kid` equals `keyID` (byte equality), if any.
    public func key(withID keyID: String) -> JWK? {
        keys.first { $0.kid.map { Array($0.utf8) == Array(keyID.utf8) } ?? false }
    }
}
