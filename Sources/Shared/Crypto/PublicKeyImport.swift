import COpenSSL

/// OpenSSL 3's one way to make a public key from its components: push them into an
/// `OSSL_PARAM_BLD`, turn that into parameters, and `EVP_PKEY_fromdata` them for the key type.
/// RSA (n, e) and EC P-256 (group, point) JWKs both come in through here.
enum PublicKeyImport {
    /// `push` adds the components; the pointers it hands the builder must stay valid until this
    /// returns (the builder keeps them until `to_param()`; see `staticCString`). Returns an owned
    /// `EVP_PKEY`.
    static func fromData(keyType: StaticString, _ push: (OpaquePointer) throws -> Bool) throws -> OpaquePointer {
        guard let builder = OSSL_PARAM_BLD_new() else { throw CryptoError.openSSL("OSSL_PARAM_BLD_new") }
        defer { OSSL_PARAM_BLD_free(builder) }
        guard try push(builder), let params = OSSL_PARAM_BLD_to_param(builder) else { throw CryptoError.openSSL("OSSL_PARAM_BLD") }
        defer { OSSL_PARAM_free(params) }
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, staticCString(keyType), nil) else {
            throw CryptoError.openSSL("EVP_PKEY_CTX_new_from_name")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        var imported: OpaquePointer?
        guard EVP_PKEY_fromdata_init(ctx) == 1,
              EVP_PKEY_fromdata(ctx, &imported, COPENSSL_EVP_PKEY_PUBLIC_KEY, params) == 1,
              let imported
        else { throw CryptoError.openSSL("EVP_PKEY_fromdata") }
        return imported
    }
}
