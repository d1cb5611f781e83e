import COpenSSL

/// An RSA key held by OpenSSL (`EVP_PKEY`), private or public-only.
///
/// `@unchecked Sendable`: the `EVP_PKEY` is never mutated after creation, and OpenSSL 3 allows concurrent
/// sign/verify on one key (every operation builds its own short-lived `EVP_MD_CTX`).
public final class RSAKey: @unchecked Sendable {
    let pkey: OpaquePointer
    public let isPrivate: Bool

    /// RFC 7518 §3.3: "A key of size 2048 bits or larger MUST be used with these algorithms."
    static let minimumBits = 2048

    /// Takes ownership of `pkey` (freed in `deinit`).
    init(owning pkey: OpaquePointer, isPrivate: Bool) {
        self.pkey = pkey
        self.isPrivate = isPrivate
    }

    deinit { EVP_PKEY_free(pkey) }

    /// `EVP_RSA_gen` is a macro over a variadic function and is not callable from Swift, hence the
    /// explicit context sequence.
    public static func generate(bits: Int) throws -> RSAKey {
        guard [2048, 3072, 4096].contains(bits) else {
            throw CryptoError(operation: "RSA key generation", detail: "unsupported size \(bits); use 2048, 3072 or 4096")
        }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "RSA", nil) else { throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name") }
        defer { EVP_PKEY_CTX_free(ctx) }
        guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_rsa_keygen_bits(ctx, Int32(bits)) == 1 else {
            throw CryptoError.openSSL("RSA keygen init")
        }
        var generated: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &generated) == 1, let generated else { throw CryptoError.openSSL("EVP_PKEY_generate") }
        return RSAKey(owning: generated, isPrivate: true)
    }

    /// Loads a PKCS#8 or traditional (PKCS#1) DER private key. Non-RSA keys, keys under 2048 bits and
    /// trailing bytes after the DER structure are rejected.
    public convenience init(privateKeyDER der: [UInt8]) throws {
        let loaded: OpaquePointer? = der.withUnsafeBufferPointer { buffer in
            guard let base = buffer.baseAddress else { return nil }
            var cursor: UnsafePointer<UInt8>? = base
            guard let key = d2i_AutoPrivateKey(nil, &cursor, buffer.count) else { return nil }
            guard cursor == base + buffer.count else {
                EVP_PKEY_free(key)
                return nil
            }
            return key
        }
        guard let loaded else { throw CryptoError.openSSL("d2i_AutoPrivateKey") }
        guard EVP_PKEY_get_base_id(loaded) == EVP_PKEY_RSA else {
            EVP_PKEY_free(loaded)
            throw CryptoError(operation: "RSA private key import", detail: "DER does not hold an RSA key")
        }
        self.init(owning: loaded, isPrivate: true)
        guard bits >= Self.minimumBits else {
            throw CryptoError(operation: "RSA private key import", detail: "key has \(bits) bits; at least 2048 required")
        }
    }

    public var bits: Int { Int(EVP_PKEY_get_bits(pkey)) }

    /// PKCS#8 `PrivateKeyInfo` DER, the format `init(privateKeyDER:)` and other tools accept.
    public func privateKeyDER() throws -> [UInt8] {
        guard isPrivate else { throw CryptoError(operation: "privateKeyDER", detail: "key is public-only") }
        guard let info = EVP_PKEY2PKCS8(pkey) else { throw CryptoError.openSSL("EVP_PKEY2PKCS8") }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        return try encodeDER("i2d_PKCS8_PRIV_KEY_INFO") { i2d_PKCS8_PRIV_KEY_INFO(info, $0) }
    }

    /// X.509 `SubjectPublicKeyInfo` DER.
    public func publicKeyDER() throws -> [UInt8] {
        try encodeDER("i2d_PUBKEY") { i2d_PUBKEY(pkey, $0) }
    }

    /// `-----BEGIN PUBLIC KEY-----` PEM, as read by `openssl` and most JOSE libraries.
    public func publicKeyPEM() throws -> String {
        PEMEncoding.encode(try publicKeyDER(), label: "PUBLIC KEY")
    }

    /// PKCS#8 PEM (a "PRIVATE KEY" block).
    public func privateKeyPEM() throws -> String {
        PEMEncoding.encode(try privateKeyDER(), label: "PRIVATE KEY")
    }

    /// RSASSA-PKCS1-v1_5 with SHA-256. RFC 7518 §3.3: "This section defines the use of the RSASSA-PKCS1-v1_5
    /// digital signature algorithm ... The "alg" (algorithm) Header Parameter value "RS256" is used".
    public func signRS256(_ message: [UInt8]) throws -> [UInt8] {
        guard isPrivate else { throw CryptoError(operation: "RS256 sign", detail: "key is public-only") }
        guard let md = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        guard EVP_DigestSignInit(md, nil, EVP_sha256(), nil, pkey) == 1 else { throw CryptoError.openSSL("EVP_DigestSignInit") }
        return try message.withUnsafeBufferPointer { input in
            var length = 0
            guard EVP_DigestSign(md, nil, &length, input.baseAddress, input.count) == 1 else {
                throw CryptoError.openSSL("EVP_DigestSign (size)")
            }
            var signature = [UInt8](repeating: 0, count: length)
            let status = signature.withUnsafeMutableBufferPointer {
                EVP_DigestSign(md, $0.baseAddress, &length, input.baseAddress, input.count)
            }
            guard status == 1 else { throw CryptoError.openSSL("EVP_DigestSign") }
            return Array(signature.prefix(length))
        }
    }

    /// False for any failure (wrong key, tampering, wrong length). A failed verify leaves entries on
    /// OpenSSL's thread-local error queue, which are cleared so they are not misreported later.
    public func verifyRS256(signature: [UInt8], message: [UInt8]) -> Bool {
        verifySHA256(pkey: pkey, signature: signature, message: message)
    }

    /// Runs an OpenSSL `i2d_*` function twice: once for the length, once into a buffer.
    private func encodeDER(
        _ operation: String,
        _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32
    ) throws -> [UInt8] {
        let length = encode(nil)
        guard length > 0 else { throw CryptoError.openSSL(operation) }
        var der = [UInt8](repeating: 0, count: Int(length))
        let written = der.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            return encode(&cursor)
        }
        guard written == length else { throw CryptoError.openSSL(operation) }
        return der
    }
}

/// RFC 7468 textual encoding: standard base64 in 64-character lines between BEGIN/END labels.
enum PEMEncoding {
    static func encode(_ der: [UInt8], label: String) -> String {
        let body = Array(Base64Codec.encode(der, alphabet: Base64Codec.standardAlphabet, padding: true).utf8)
        var lines: [String] = ["-----BEGIN \(label)-----"]
        var start = 0
        while start < body.count {
            let end = min(start + 64, body.count)
            lines.append(String(decoding: body[start..<end], as: UTF8.self))
            start = end
        }
        lines.append("-----END \(label)-----")
        return lines.joined(separator: "\n") + "\n"
    }
}
