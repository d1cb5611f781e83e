import COpenSSL

public enum KeyEncryptionError: Error, Sendable, Equatable {
    /// The GCM tag did not verify: wrong key, wrong associated data, or the sealed bytes were altered.
    case authenticationFailed
    /// The sealed bytes are too short or carry an unknown version byte.
    case malformed
    /// The key material given to `KeyEncryptionKey` is unusable (explanation attached, never the key).
    case invalidKey(String)
}

/// Encrypts private signing keys at rest with AES-256-GCM.
///
/// Sealed layout: `0x01 || nonce (12) || ciphertext || tag (16)`. The nonce is random per seal; with 96-bit
/// random nonces NIST SP 800-38D allows 2^32 seals per key, far beyond the number of signing keys we rotate.
/// The version byte is authenticated too (it is prepended to the associated data), so it cannot be swapped.
/// Callers pass the row's identity (e.g. the key ID) as associated data, so a ciphertext cannot be moved
/// to another row.
public struct KeyEncryptionKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    static let keyLength = 32
    static let nonceLength = 12
    static let tagLength = 16
    static let version: UInt8 = 0x01

    private let key: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.keyLength else {
            throw KeyEncryptionError.invalidKey("key must be exactly 32 bytes, got \(bytes.count)")
        }
        key = bytes
    }

    /// Accepts standard or url-safe base64 (padding optional, surrounding whitespace ignored) of 32 bytes,
    /// e.g. the output of `openssl rand -base64 32`.
    public init(base64: String) throws {
        let trimmed = String(base64.unicodeScalars.filter { !$0.properties.isWhitespace })
        guard let bytes = Base64Codec.decode(trimmed, urlSafe: false, allowPadding: true)
            ?? Base64Codec.decode(trimmed, urlSafe: true, allowPadding: true)
        else {
            throw KeyEncryptionError.invalidKey("key is not valid base64 (generate one with `openssl rand -base64 32`)")
        }
        try self.init(bytes: bytes)
    }

    public static func generate() -> KeyEncryptionKey {
        KeyEncryptionKey(unchecked: SecureRandom.bytes(keyLength))
    }

    private init(unchecked key: [UInt8]) {
        self.key = key
    }

    /// First 8 bytes of SHA-256(key), hex. Stored next to sealed keys so a start-up with the wrong KEK can be
    /// reported as such instead of as a pile of authentication failures; reveals nothing usable about the key.
    public var fingerprint: String {
        Digest.sha256(key).prefix(8).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 0x10 ? "0" + hex : hex
        }.joined()
    }

    public var description: String { "KeyEncryptionKey(fingerprint: \(fingerprint))" }
    public var debugDescription: String { description }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        let nonce = SecureRandom.bytes(Self.nonceLength)
        let cipher = try GCMContext(key: key, nonce: nonce, encrypt: true)
        try cipher.authenticate([Self.version] + associatedData)
        let ciphertext = try cipher.update(plaintext)
        try cipher.finish()
        return [Self.version] + nonce + ciphertext + (try cipher.tag())
    }

    public func open(_ sealed: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
        guard sealed.count >= 1 + Self.nonceLength + Self.tagLength, sealed[0] == Self.version else {
            throw KeyEncryptionError.malformed
        }
        let nonce = Array(sealed[1...Self.nonceLength])
        let ciphertext = Array(sealed[(1 + Self.nonceLength)..<(sealed.count - Self.tagLength)])
        let tag = Array(sealed.suffix(Self.tagLength))
        let cipher = try GCMContext(key: key, nonce: nonce, encrypt: false)
        try cipher.authenticate([Self.version] + associatedData)
        let plaintext = try cipher.update(ciphertext)
        try cipher.setTag(tag)
        guard cipher.verifyFinish() else { throw KeyEncryptionError.authenticationFailed }
        return plaintext
    }
}

/// One AES-256-GCM operation over an `EVP_CIPHER_CTX`, freed with the object.
private final class GCMContext {
    private let ctx: OpaquePointer
    private let encrypt: Bool

    init(key: [UInt8], nonce: [UInt8], encrypt: Bool) throws {
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openSSL("EVP_CIPHER_CTX_new") }
        self.ctx = ctx
        self.encrypt = encrypt
        let initialise = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex
        guard initialise(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              EVP_CIPHER_CTX_ctrl(ctx, COPENSSL_EVP_CTRL_GCM_SET_IVLEN, Int32(nonce.count), nil) == 1,
              initialise(ctx, nil, nil, key, nonce) == 1
        else { throw CryptoError.openSSL("AES-256-GCM init") }
    }

    deinit { EVP_CIPHER_CTX_free(ctx) }

    func authenticate(_ associatedData: [UInt8]) throws {
        var ignored: Int32 = 0
        guard run(nil, &ignored, associatedData) == 1 else { throw CryptoError.openSSL("AES-256-GCM AAD") }
    }

    func update(_ input: [UInt8]) throws -> [UInt8] {
        guard !input.isEmpty else { return [] }
        var output = [UInt8](repeating: 0, count: input.count)
        var written: Int32 = 0
        let status = output.withUnsafeMutableBufferPointer { run($0.baseAddress, &written, input) }
        guard status == 1, Int(written) == input.count else { throw CryptoError.openSSL("AES-256-GCM update") }
        return output
    }

    func finish() throws {
        var written: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        let status = scratch.withUnsafeMutableBufferPointer { EVP_EncryptFinal_ex(ctx, $0.baseAddress, &written) }
        guard status == 1 else { throw CryptoError.openSSL("AES-256-GCM final") }
    }

    /// False when the tag does not match; the error queue is cleared because this is an expected outcome.
    func verifyFinish() -> Bool {
        var written: Int32 = 0
        var scratch = [UInt8](repeating: 0, count: 16)
        let status = scratch.withUnsafeMutableBufferPointer { EVP_DecryptFinal_ex(ctx, $0.baseAddress, &written) }
        if status != 1 { ERR_clear_error() }
        return status == 1
    }

    func tag() throws -> [UInt8] {
        var tag = [UInt8](repeating: 0, count: KeyEncryptionKey.tagLength)
        let status = tag.withUnsafeMutableBytes {
            EVP_CIPHER_CTX_ctrl(ctx, COPENSSL_EVP_CTRL_GCM_GET_TAG, Int32($0.count), $0.baseAddress)
        }
        guard status == 1 else { throw CryptoError.openSSL("AES-256-GCM get tag") }
        return tag
    }

    func setTag(_ tag: [UInt8]) throws {
        var tag = tag
        let status = tag.withUnsafeMutableBytes {
            EVP_CIPHER_CTX_ctrl(ctx, COPENSSL_EVP_CTRL_GCM_SET_TAG, Int32($0.count), $0.baseAddress)
        }
        guard status == 1 else { throw CryptoError.openSSL("AES-256-GCM set tag") }
    }

    private func run(_ output: UnsafeMutablePointer<UInt8>?, _ written: inout Int32, _ input: [UInt8]) -> Int32 {
        guard !input.isEmpty else { return 1 }
        return input.withUnsafeBufferPointer { buffer in
            encrypt
                ? EVP_EncryptUpdate(ctx, output, &written, buffer.baseAddress, Int32(buffer.count))
                : EVP_DecryptUpdate(ctx, output, &written, buffer.baseAddress, Int32(buffer.count))
        }
    }
}
