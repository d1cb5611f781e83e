/// The protected header of a JWS (RFC 7515 §4.1), limited to the parameters Gatehouse uses.
public struct JOSEHeader: Codable, Sendable, Equatable {
    /// RFC 7515 §4.1.1: "The "alg" (algorithm) Header Parameter identifies the cryptographic algorithm used
    /// to secure the JWS." Read only to be compared with the pinned algorithm, never to choose one.
    public var alg: String
    /// RFC 7515 §4.1.9; RFC 9068 §2.1: access tokens "MUST include this parameter" with "at+jwt".
    public var typ: String?
    /// RFC 7515 §4.1.4: "The "kid" (key ID) Header Parameter is a hint indicating which key was used to secure the JWS."
    public var kid: String?

    public init(alg: String, typ: String? = nil, kid: String? = nil) {
        self.alg = alg
        self.typ = typ
        self.kid = kid
    }
}

/// Header members we must look at to refuse a token even though we never use them.
struct CriticalHeaderProbe: Decodable {
    /// RFC 7515 §4.1.11: "If any of the listed extension Header Parameters are not understood and supported
    /// by the recipient, then the JWS is invalid." We support no extensions, so any `crit` is rejected.
    var crit: Present?

    /// Decodes (and discards) any JSON value; used only to detect a member's presence.
    struct Present: Decodable {
        init(from decoder: any Decoder) throws {}
    }
}
