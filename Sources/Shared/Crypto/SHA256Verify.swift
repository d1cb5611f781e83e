import COpenSSL

/// One `EVP_DigestVerify` with SHA-256 under `pkey`, for RS256 (our own tokens), and PS256 and
/// ES256 (client assertions). `configure` sets padding on the key context when the algorithm needs
/// it (PSS) and returns false if it cannot.
///
/// False for any failure (wrong key, tampering, wrong length). A failed verify leaves entries on
/// OpenSSL's thread-local error queue, which are cleared so they are not misreported later.
func verifySHA256(pkey: OpaquePointer, signature: [UInt8], message: [UInt8],
                  configure: (OpaquePointer?) -> Bool = { _ in true }) -> Bool {
    guard !signature.isEmpty, let md = EVP_MD_CTX_new() else { return false }
    defer { EVP_MD_CTX_free(md) }
    var pctx: OpaquePointer?
    guard EVP_DigestVerifyInit(md, &pctx, EVP_sha256(), nil, pkey) == 1, configure(pctx) else {
        ERR_clear_error()
        return false
    }
    let status = signature.withUnsafeBufferPointer { sig in
        message.withUnsafeBufferPointer { msg in
            EVP_DigestVerify(md, sig.baseAddress, sig.count, msg.baseAddress, msg.count)
        }
    }
    if status != 1 { ERR_clear_error() }
    return status == 1
}
