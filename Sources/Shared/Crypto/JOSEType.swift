/// The `typ` header values Gatehouse writes and insists on, named once so the signer and every
/// verifier agree.
public enum JOSEType {
    /// RFC 9068 §2.1: "Resource servers MUST verify that the "typ" header value is "at+jwt" or
    /// "application/at+jwt" and reject tokens carrying any other value." The authorization
    /// server signs every access token with it; `JWTParser` compares media types case-insensitively.
    public static let accessToken = "at+jwt"
}
