/// The text of an API key (issue 13): `gh_pat_` followed by 32 random bytes in base64url (43
/// characters). The fixed prefix lets secret scanners recognise a leaked key, and lets the
/// ResourceServer tell a key from a JWT access token without parsing it. Only the SHA-256 of the
/// random part is stored: the part is 256 bits of CSPRNG output, so a plain hash cannot be
/// reversed by guessing (a slow password hash would add nothing and cost every request).
public enum APIKeySecret {
    public static let prefix = "gh_pat_"
    public static let randomByteCount = 32
    /// base64url of 32 bytes, unpadded.
    static let randomLength = 43

    /// A fresh key, to be shown once and never stored.
    public static func generate() -> String {
        prefix + SecureRandom.token(byteCount: randomByteCount)
    }

    /// True when `token` is meant as an API key (it has the prefix), well-formed or not.
    public static func isAPIKey(_ token: String) -> Bool {
        token.hasPrefix(prefix)
    }

    /// The stored hash of a well-formed key; nil for anything else (wrong length, not base64url).
    public static func hash(_ key: String) -> [UInt8]? {
        guard key.hasPrefix(prefix) else { return nil }
        let random = key.utf8.dropFirst(prefix.utf8.count)
        guard random.count == randomLength, random.allSatisfy(isBase64URL) else { return nil }
        return Digest.sha256(random)
    }

    /// The `jti` under which a revoked key is listed in `revoked_access_tokens` (and announced on
    /// the revocation channel), so the resource servers' revocation feed refuses it within a second.
    public static func revocationID(keyID: String) -> String {
        "pat-" + keyID
    }

    private static func isBase64URL(_ byte: UInt8) -> Bool {
        (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39)
            || byte == 0x2D || byte == 0x5F
    }
}
