import COpenSSL

public enum Digest {
    public static func sha256<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ sha256(UnsafeRawBufferPointer($0)) }) { return digest }
        return Array(bytes).withUnsafeBytes { sha256($0) }
    }

    public static func sha256(_ string: String) -> [UInt8] {
        var string = string
        return string.withUTF8 { sha256(UnsafeRawBufferPointer($0)) }
    }

    private static func sha256(_ input: UnsafeRawBufferPointer) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = output.withUnsafeMutableBufferPointer { out in
            EVP_Digest(input.baseAddress, input.count, out.baseAddress, &length, FetchedDigest.sha256.md, nil)
        }
        // SHA-256 on an in-memory buffer cannot fail short of memory corruption or a broken OpenSSL install.
        guard status == 1, length == 32 else { fatalError("EVP_Digest(SHA-256) failed: \(drainOpenSSLErrors())") }
        return output
    }

    /// HMAC-SHA-256 (RFC 2104).
    public static func hmacSHA256(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let result = key.withUnsafeBytes { keyRaw in
            message.withUnsafeBytes { messageRaw in
                output.withUnsafeMutableBufferPointer { out in
                    HMAC(EVP_sha256(), keyRaw.baseAddress ?? UnsafeRawPointer(out.baseAddress!), Int32(keyRaw.count),
                         messageRaw.bindMemory(to: UInt8.self).baseAddress, messageRaw.count, out.baseAddress, &length)
                }
            }
        }
        guard result != nil, length == 32 else { fatalError("HMAC(SHA-256) failed: \(drainOpenSSLErrors())") }
        return output
    }
}

/// Compares secrets without an early exit, so timing does not reveal the length of a matching prefix.
/// A length mismatch returns false immediately: lengths of hashes and tokens are not secret.
public func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { left in
        b.withUnsafeBytes { right in CRYPTO_memcmp(left.baseAddress, right.baseAddress, left.count) == 0 }
    }
}

/// An explicitly fetched digest. OpenSSL 3 looks up `EVP_sha256()` in its provider store on every
/// call (implicit fetch, under a lock); fetching once is the documented fast path, and SHA-256 runs
/// on every resource-server request (the validated-token cache key).
final class FetchedDigest: @unchecked Sendable {
    let md: OpaquePointer

    private init(name: String) {
        guard let md = EVP_MD_fetch(nil, name, nil) else { fatalError("EVP_MD_fetch(\(name)) failed: \(drainOpenSSLErrors())") }
        self.md = md
    }

    deinit { EVP_MD_free(md) }

    static let sha256 = FetchedDigest(name: "SHA256")
}
