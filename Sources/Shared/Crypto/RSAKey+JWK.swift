import COpenSSL

extension RSAKey {
    /// Builds a public-only key from an RSA JWK (the resource server's view of the authorization server's JWKS).
    public convenience init(publicJWK jwk: JWK) throws {
        let operation = "RSA JWK import"
        guard jwk.kty == "RSA" else { throw CryptoError(operation: operation, detail: "kty is \"\(jwk.kty)\", expected \"RSA\"") }
        guard let nBytes = jwk.n.flatMap(Base64URL.decode), !nBytes.isEmpty,
              let eBytes = jwk.e.flatMap(Base64URL.decode), !eBytes.isEmpty
        else { throw CryptoError(operation: operation, detail: "n and e must be non-empty base64url") }
        guard let n = BN_bin2bn(nBytes, Int32(nBytes.count), nil) else { throw CryptoError.openSSL("BN_bin2bn(n)") }
        defer { BN_free(n) }
        guard let e = BN_bin2bn(eBytes, Int32(eBytes.count), nil) else { throw CryptoError.openSSL("BN_bin2bn(e)") }
        defer { BN_free(e) }
        // RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
        let modulusBits = Int(BN_num_bits(n))
        guard modulusBits >= Self.minimumBits else {
            throw CryptoError(operation: operation, detail: "modulus has \(modulusBits) bits; at least 2048 required")
        }
        guard BN_is_odd(e) == 1, BN_num_bits(e) > 1 else { throw CryptoError(operation: operation, detail: "invalid exponent") }

        // The builder keeps the key-name pointers until to_param(): they must outlive this call (see staticCString).
        let imported = try PublicKeyImport.fromData(keyType: "RSA") { builder in
            OSSL_PARAM_BLD_push_BN(builder, staticCString("n"), n) == 1 && OSSL_PARAM_BLD_push_BN(builder, staticCString("e"), e) == 1
        }
        self.init(owning: imported, isPrivate: false)
    }

    /// The public half as a JWK, with `kid` set to the RFC 7638 thumbprint so the key ID is derived from
    /// the key itself and stays stable across restarts and replicas.
    public func publicJWK() throws -> JWK {
        let (n, e) = try publicComponents()
        return JWK(kty: "RSA", n: n, e: e, kid: Self.thumbprint(n: n, e: e), alg: "RS256", use: "sig")
    }

    /// RFC 7638 §3.2: "the JSON object MUST contain only the required members of a JWK representing the key",
    /// which for RSA are "e", "kty" and "n", in lexicographic order, with "no whitespace or line breaks".
    /// The thumbprint is the base64url SHA-256 of that UTF-8 JSON.
    public func thumbprint() throws -> String {
        let (n, e) = try publicComponents()
        return Self.thumbprint(n: n, e: e)
    }

    static func thumbprint(n: String, e: String) -> String {
        // n and e are base64url, so they contain no characters that JSON would escape.
        Base64URL.encode(Digest.sha256("{\"e\":\"\(e)\",\"kty\":\"RSA\",\"n\":\"\(n)\"}"))
    }

    /// Base64urlUInt n and e. RFC 7518 §2: "The octet sequence MUST utilize the minimum number of octets
    /// needed to represent the value" — exactly what BN_bn2bin produces.
    private func publicComponents() throws -> (n: String, e: String) {
        (try bigNumParameter("n"), try bigNumParameter("e"))
    }

    private func bigNumParameter(_ name: String) throws -> String {
        var value: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &value) == 1, let value else {
            throw CryptoError.openSSL("EVP_PKEY_get_bn_param(\(name))")
        }
        defer { BN_free(value) }
        var bytes = [UInt8](repeating: 0, count: Int((BN_num_bits(value) + 7) / 8))
        _ = bytes.withUnsafeMutableBufferPointer { BN_bn2bin(value, $0.baseAddress) }
        return Base64URL.encode(bytes)
    }
}
