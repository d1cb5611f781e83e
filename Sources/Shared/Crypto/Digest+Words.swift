import COpenSSL

extension Digest {
    /// SHA-256 of a string's UTF-8, as four 64-bit words in memory order (the digest's bytes 0–7 are
    /// the first word's bytes, on any platform). Written straight into the result, so a hash-table key
    /// made of it costs no array allocation: the ResourceServer keys its validated-token cache this
    /// way on every request.
    public static func sha256Words(_ string: String) -> (UInt64, UInt64, UInt64, UInt64) {
        var string = string
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        var length: UInt32 = 0
        let status = string.withUTF8 { input in
            withUnsafeMutableBytes(of: &words) { output in
                EVP_Digest(input.baseAddress, input.count, output.bindMemory(to: UInt8.self).baseAddress, &length,
                           FetchedDigest.sha256.md, nil)
            }
        }
        // SHA-256 on an in-memory buffer cannot fail short of memory corruption or a broken OpenSSL install.
        guard status == 1, length == 32 else { fatalError("EVP_Digest(SHA-256) failed: \(drainOpenSSLErrors())") }
        return words
    }
}
