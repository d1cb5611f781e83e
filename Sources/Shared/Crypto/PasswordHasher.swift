import COpenSSL
import Foundation

/// Memory-hard password hashing with scrypt (RFC 7914) through OpenSSL's `EVP_KDF` "SCRYPT".
///
/// Encoded form: `$scrypt$ln=17,r=8,p=1$<salt>$<hash>` (standard base64, no padding; 16-byte salt, 32-byte
/// hash). The parameters travel with each hash, so they can be raised later and old hashes upgraded on
/// the next successful login (`needsRehash`).
public struct PasswordHasher: Sendable {
    public struct Parameters: Sendable, Equatable {
        /// log2 of the CPU/memory cost N.
        public var logN: Int
        /// Block size; memory use is about 128 · r · N bytes.
        public var r: Int
        /// Parallelisation.
        public var p: Int

        /// N = 2^17, r = 8, p = 1: the minimum the OWASP Password Storage Cheat Sheet recommends for
        /// scrypt ("a minimum CPU/memory cost parameter of (2^17), a minimum block size of 8 (1024
        /// bytes), and a parallelization parameter of 1"); 128 MiB and a few hundred milliseconds
        /// per hash. Hashes made with weaker parameters are upgraded at the next successful login.
        public static let `default` = Parameters(logN: 17, r: 8, p: 1)

        public init(logN: Int, r: Int, p: Int) {
            self.logN = logN
            self.r = r
            self.p = p
        }

        /// Bounds for hashing and for parameters read back from storage, so a corrupted row cannot ask for
        /// gigabytes of memory or hours of CPU.
        var isSupported: Bool {
            (1...20).contains(logN) && (1...32).contains(r) && (1...16).contains(p) && memoryBytes <= 1 << 30
        }

        /// OpenSSL's own accounting: V is 128·r·(N+2) bytes, B is 128·r·p bytes.
        var memoryBytes: UInt64 {
            128 * UInt64(r) * ((UInt64(1) << UInt64(logN)) + 2) + 128 * UInt64(r) * UInt64(p)
        }

        func isWeaker(than other: Parameters) -> Bool {
            logN < other.logN || r < other.r || p < other.p
        }
    }

    static let saltLength = 16
    static let hashLength = 32

    public let parameters: Parameters

    public init(parameters: Parameters = .default) {
        self.parameters = parameters
    }

    public func hash(_ password: String) throws -> String {
        guard parameters.isSupported else {
            throw CryptoError(operation: "scrypt", detail: "unsupported parameters \(parameters)")
        }
        let salt = SecureRandom.bytes(Self.saltLength)
        let derived = try Self.scrypt(Self.passwordBytes(password), salt: salt, parameters: parameters, length: Self.hashLength)
        return Encoded(parameters: parameters, salt: salt, hash: derived).string
    }

    /// Never throws: a malformed or unsupported stored string is simply not a match.
    public func verify(_ password: String, against encoded: String) -> Bool {
        guard let stored = Encoded(parsing: encoded),
              let derived = try? Self.scrypt(Self.passwordBytes(password), salt: stored.salt,
                                             parameters: stored.parameters, length: stored.hash.count)
        else { return false }
        return constantTimeEquals(derived, stored.hash)
    }

    /// True when the stored hash used weaker parameters than ours (or cannot be parsed at all).
    public func needsRehash(_ encoded: String) -> Bool {
        guard let stored = Encoded(parsing: encoded) else { return true }
        return stored.parameters.isWeaker(than: parameters)
    }

    /// NFC first, so the same password typed on systems that compose accents differently still matches
    /// (RFC 8265 §4.2.2, OpaqueString profile, applies NFC).
    static func passwordBytes(_ password: String) -> [UInt8] {
        Array(password.precomposedStringWithCanonicalMapping.utf8)
    }

    static func scrypt(_ password: [UInt8], salt: [UInt8], parameters: Parameters, length: Int) throws -> [UInt8] {
        guard parameters.isSupported else { throw CryptoError(operation: "scrypt", detail: "unsupported parameters") }
        guard let kdf = EVP_KDF_fetch(nil, "SCRYPT", nil) else { throw CryptoError.openSSL("EVP_KDF_fetch(SCRYPT)") }
        defer { EVP_KDF_free(kdf) }
        guard let ctx = EVP_KDF_CTX_new(kdf) else { throw CryptoError.openSSL("EVP_KDF_CTX_new") }
        defer { EVP_KDF_CTX_free(ctx) }

        // OSSL_PARAM stores pointers to keys and values, not copies, so both must outlive EVP_KDF_derive:
        // keys come from staticCString, values live in buffers owned by this scope (an `&value` argument
        // would only be valid for the duration of the construct call).
        let integers = UnsafeMutablePointer<UInt64>.allocate(capacity: 2)
        defer { integers.deallocate() }
        integers[0] = UInt64(1) << UInt64(parameters.logN)
        // OpenSSL's default maxmem is 1 MiB, far below N=2^17, r=8 (128 MiB); allow what these parameters need.
        integers[1] = parameters.memoryBytes + (1 << 20)
        let smallIntegers = UnsafeMutablePointer<UInt32>.allocate(capacity: 2)
        defer { smallIntegers.deallocate() }
        smallIntegers[0] = UInt32(parameters.r)
        smallIntegers[1] = UInt32(parameters.p)
        // A trailing sentinel byte keeps the base address non-null for an empty password (which is still hashed).
        let passwordStorage = password + [0]
        var output = [UInt8](repeating: 0, count: length)
        let status = passwordStorage.withUnsafeBytes { passwordRaw in
            salt.withUnsafeBytes { saltRaw in
                output.withUnsafeMutableBufferPointer { out in
                    let params = [
                        OSSL_PARAM_construct_octet_string(staticCString("pass"), UnsafeMutableRawPointer(mutating: passwordRaw.baseAddress), password.count),
                        OSSL_PARAM_construct_octet_string(staticCString("salt"), UnsafeMutableRawPointer(mutating: saltRaw.baseAddress), saltRaw.count),
                        OSSL_PARAM_construct_uint64(staticCString("n"), integers),
                        OSSL_PARAM_construct_uint32(staticCString("r"), smallIntegers),
                        OSSL_PARAM_construct_uint32(staticCString("p"), smallIntegers + 1),
                        OSSL_PARAM_construct_uint64(staticCString("maxmem_bytes"), integers + 1),
                        OSSL_PARAM_construct_end(),
                    ]
                    return params.withUnsafeBufferPointer { EVP_KDF_derive(ctx, out.baseAddress, length, $0.baseAddress) }
                }
            }
        }
        guard status == 1 else { throw CryptoError.openSSL("EVP_KDF_derive(SCRYPT)") }
        return output
    }
}

/// The `$scrypt$ln=…,r=…,p=…$salt$hash` string, parsed strictly.
private struct Encoded {
    let parameters: PasswordHasher.Parameters
    let salt: [UInt8]
    let hash: [UInt8]

    init(parameters: PasswordHasher.Parameters, salt: [UInt8], hash: [UInt8]) {
        self.parameters = parameters
        self.salt = salt
        self.hash = hash
    }

    init?(parsing string: String) {
        let fields = string.split(separator: "$", omittingEmptySubsequences: false)
        guard fields.count == 5, fields[0].isEmpty, fields[1] == "scrypt" else { return nil }
        let settings = fields[2].split(separator: ",", omittingEmptySubsequences: false)
        guard settings.count == 3,
              let logN = Self.integer(settings[0], named: "ln"),
              let r = Self.integer(settings[1], named: "r"),
              let p = Self.integer(settings[2], named: "p")
        else { return nil }
        let parameters = PasswordHasher.Parameters(logN: logN, r: r, p: p)
        guard parameters.isSupported,
              let salt = Base64Codec.decode(String(fields[3]), urlSafe: false, allowPadding: false),
              let hash = Base64Codec.decode(String(fields[4]), urlSafe: false, allowPadding: false),
              (8...64).contains(salt.count), (16...64).contains(hash.count)
        else { return nil }
        self.init(parameters: parameters, salt: salt, hash: hash)
    }

    var string: String {
        let b64 = { (bytes: [UInt8]) in Base64Codec.encode(bytes, alphabet: Base64Codec.standardAlphabet, padding: false) }
        return "$scrypt$ln=\(parameters.logN),r=\(parameters.r),p=\(parameters.p)$\(b64(salt))$\(b64(hash))"
    }

    /// "name=digits" with no sign, no leading zeros and at most 3 digits.
    private static func integer(_ field: Substring, named name: String) -> Int? {
        let prefix = name + "="
        guard field.hasPrefix(prefix) else { return nil }
        let digits = field.dropFirst(prefix.count)
        guard (1...3).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              digits.count == 1 || digits.first != "0"
        else { return nil }
        return Int(digits)
    }
}
