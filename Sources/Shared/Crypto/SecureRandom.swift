import COpenSSL

/// Randomness from OpenSSL's CSPRNG, for authorization codes, refresh tokens, client secrets, salts and nonces.
public enum SecureRandom {
    public static func bytes(_ count: Int) -> [UInt8] {
        precondition(count >= 0 && count <= Int(Int32.max), "SecureRandom.bytes: invalid count \(count)")
        var buffer = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return buffer }
        let status = buffer.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        // Continuing without randomness would mint guessable secrets; there is no safe fallback.
        guard status == 1 else { fatalError("RAND_bytes failed: \(drainOpenSSLErrors())") }
        return buffer
    }

    /// base64url (unpadded) of `byteCount` random bytes: URL-safe and needs no escaping in forms or headers.
    /// 32 bytes = 256 bits, well above RFC 6749 §10.10's requirement that guessing be infeasible.
    public static func token(byteCount: Int = 32) -> String {
        Base64URL.encode(bytes(byteCount))
    }
}
