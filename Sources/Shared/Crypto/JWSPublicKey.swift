import COpenSSL

/// A public key from someone else's JWKS (a client's, for `private_key_jwt`): RSA of at least 2048 bits,
/// or EC on P-256. Held by OpenSSL (`EVP_PKEY`); verification goes through `EVP_DigestVerify`.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never mutated after creation, and every verification builds
/// its own short-lived `EVP_MD_CTX`.
public final class JWSPublicKey: @unchecked Sendable {
    let pkey: OpaquePointer
    /// "RSA" or "EC", as in the JWK it came from.
    public let keyType: String
    /// The JWK's `kid`, `alg` and `use`, which narrow which assertions the key may verify.
    public let kid: String?
    public let alg: String?
    public let use: String?

    deinit { EVP_PKEY_free(pkey) }

    /// Imports the public part of an RSA or P-256 EC JWK; anything else throws.
    public init(jwk: JWK) throws {
        switch jwk.kty {
        case "RSA":
            let rsa = try RSAKey(publicJWK: jwk)
            guard EVP_PKEY_up_ref(rsa.pkey) == 1 else { throw CryptoError.openSSL("EVP_PKEY_up_ref") }
            pkey = rsa.pkey
        case "EC":
            pkey = try Self.importP256(jwk)
        default:
            throw CryptoError(operation: "JWK import", detail: "unsupported kty")
        }
        keyType = jwk.kty
        kid = jwk.kid
        alg = jwk.alg
        use = jwk.use
    }

    /// May this key verify a signature made with `algorithm`? RFC 7517 §4.4: "The "alg" (algorithm)
    /// parameter identifies the algorithm intended for use with the key"; §4.2 "use": "sig" for signatures.
    public func accepts(_ algorithm: JWSAlgorithm) -> Bool {
        keyType == algorithm.keyType && (alg == nil || alg == algorithm.rawValue) && (use == nil || use == "sig")
    }

    /// False for any failure: wrong key type for the algorithm, wrong key, tampering, bad length. OpenSSL's
    /// thread-local error queue is cleared after a failure so it is not misreported later.
    public func verify(_ algorithm: JWSAlgorithm, signature: [UInt8], message: [UInt8]) -> Bool {
        guard keyType == algorithm.keyType, !signature.isEmpty else { return false }
        let encoded: [UInt8]
        if algorithm == .es256 {
            // RFC 7518 §3.4: the JWS signature is R || S, 32 octets each; OpenSSL wants DER.
            guard let der = ECDSASignatureDER.encode(joseSignature: signature, coordinateBytes: 32) else { return false }
            encoded = der
        } else {
            encoded = signature
        }
        return verifySHA256(pkey: pkey, signature: encoded, message: message) { pctx in
            guard algorithm == .ps256 else { return true }
            // RFC 7518 §3.5: "The size of the salt value is the same size as the hash function output."
            return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1
                && EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
        }
    }

    /// RFC 7518 §6.2.1: `crv` "P-256", `x` and `y` each 32 octets. The point is checked to be on the curve.
    private static func importP256(_ jwk: JWK) throws -> OpaquePointer {
        let operation = "EC JWK import"
        guard jwk.crv == "P-256" else { throw CryptoError(operation: operation, detail: "only the P-256 curve is supported") }
        guard let x = jwk.x.flatMap(Base64URL.decode), x.count == 32,
              let y = jwk.y.flatMap(Base64URL.decode), y.count == 32
        else { throw CryptoError(operation: operation, detail: "x and y must be 32-byte base64url") }
        // SEC 1 §2.3.3 uncompressed point: 0x04 || X || Y.
        let point: [UInt8] = [0x04] + x + y
        return try point.withUnsafeBufferPointer { buffer -> OpaquePointer in
            // The builder keeps pointers until to_param(): keys and values must outlive it (see staticCString).
            let imported = try PublicKeyImport.fromData(keyType: "EC") { builder in
                OSSL_PARAM_BLD_push_utf8_string(builder, staticCString("group"), staticCString("prime256v1"), 0) == 1
                    && OSSL_PARAM_BLD_push_octet_string(builder, staticCString("pub"), buffer.baseAddress, buffer.count) == 1
            }
            guard let check = EVP_PKEY_CTX_new_from_pkey(nil, imported, nil) else {
                EVP_PKEY_free(imported)
                throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_pkey")
            }
            defer { EVP_PKEY_CTX_free(check) }
            guard EVP_PKEY_public_check(check) == 1 else {
                EVP_PKEY_free(imported)
                throw CryptoError.openSSL("EVP_PKEY_public_check")
            }
            return imported
        }
    }
}

/// ECDSA signatures between JOSE's fixed-width R || S and the DER `ECDSA-Sig-Value` OpenSSL uses.
public enum ECDSASignatureDER {
    /// RFC 3279 §2.2.3: `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`. Nil when the input is not
    /// exactly two coordinates long.
    public static func encode(joseSignature signature: [UInt8], coordinateBytes: Int) -> [UInt8]? {
        guard signature.count == 2 * coordinateBytes else { return nil }
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty { value = [0] }
            if value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(signature[..<coordinateBytes]) + integer(signature[coordinateBytes...])
        return [0x30, UInt8(body.count)] + body
    }

    /// The inverse, for signers: DER to R || S, each left-padded to `coordinateBytes`.
    public static func decode(der: [UInt8], coordinateBytes: Int) -> [UInt8]? {
        guard der.count >= 8, der[0] == 0x30, Int(der[1]) == der.count - 2 else { return nil }
        var index = 2
        var output: [UInt8] = []
        for _ in 0..<2 {
            guard index + 2 <= der.count, der[index] == 0x02 else { return nil }
            let length = Int(der[index + 1])
            guard index + 2 + length <= der.count else { return nil }
            let value = der[(index + 2)..<(index + 2 + length)].drop { $0 == 0 }
            guard value.count <= coordinateBytes else { return nil }
            output += [UInt8](repeating: 0, count: coordinateBytes - value.count) + value
            index += 2 + length
        }
        return index == der.count ? output : nil
    }
}
