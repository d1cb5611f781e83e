import COpenSSL

public enum Digest {
    public static func sha256<S: Sequence>(_ bytes: S) -> [UInt8] where S.Element == UInt8 {
        let input = Array(bytes)
        var output = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 0
        let status = input.withUnsafeBytes { raw in
            output.withUnsafeMutableBufferPointer { out in
                EVP_Digest(raw.baseAddress, raw.count, out.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        // SHA-256 on an in-memory buffer cannot fail short of memory corruption or a broken OpenSSL install.
        guard status == 1, length == 32 else { fatalError("EVP_Digest(SHA-256) failed: \(drainOpenSSLErrors())") }
        return output
    }

    public static func sha256(_ string: String) -> [UInt8] {
        sha256(string.utf8)
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
