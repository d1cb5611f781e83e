import COpenSSL
import Foundation
import TestSupport
@testable import Shared

/// A client's own key pair for `private_key_jwt` tests: RSA (RS256, PS256) or EC P-256 (ES256),
/// generated and used through OpenSSL, as a real client's JOSE library would.
final class ClientKeyPair: @unchecked Sendable {
    let algorithm: JWSAlgorithm
    let kid: String
    private let pkey: OpaquePointer
    private let rsa: RSAKey?

    deinit { if rsa == nil { EVP_PKEY_free(pkey) } }

    init(_ algorithm: JWSAlgorithm, kid: String = UUID().uuidString) throws {
        self.algorithm = algorithm
        self.kid = kid
        switch algorithm {
        case .rs256, .ps256:
            let rsa = try TestKeys.fresh()
            self.rsa = rsa
            pkey = rsa.pkey
        case .es256:
            rsa = nil
            guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else { throw CryptoError.openSSL("EC ctx") }
            defer { EVP_PKEY_CTX_free(ctx) }
            var generated: OpaquePointer?
            guard EVP_PKEY_keygen_init(ctx) == 1, EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1,
                  EVP_PKEY_generate(ctx, &generated) == 1, let generated
            else { throw CryptoError.openSSL("EC keygen") }
            pkey = generated
        }
    }

    /// The public JWK, as a client publishes it in its JWKS.
    var publicJWK: JWK {
        get throws {
            if let rsa {
                var jwk = try rsa.publicJWK()
                jwk.kid = kid
                jwk.alg = algorithm.rawValue
                return jwk
            }
            return JWK(kty: "EC", kid: kid, alg: "ES256", use: "sig", crv: "P-256",
                       x: Base64URL.encode(try coordinate("qx")), y: Base64URL.encode(try coordinate("qy")))
        }
    }

    var jwksJSON: String {
        get throws { String(decoding: try JSONEncoder().encode(JWKS(keys: [try publicJWK])), as: UTF8.self) }
    }

    var jwksObject: [String: Any] {
        get throws { try JSONSerialization.jsonObject(with: Data(try jwksJSON.utf8)) as? [String: Any] ?? [:] }
    }

    /// A compact JWS over `claims`; `header` replaces header members (e.g. a forged `alg`).
    func sign(_ claims: [String: Any], header: [String: Any] = [:]) throws -> String {
        var fields: [String: Any] = ["alg": algorithm.rawValue, "kid": kid, "typ": "JWT"]
        fields.merge(header) { $1 }
        let encodedHeader = Base64URL.encode(try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]))
        let encodedClaims = Base64URL.encode(try JSONSerialization.data(withJSONObject: claims, options: [.sortedKeys]))
        let input = Array("\(encodedHeader).\(encodedClaims)".utf8)
        return "\(encodedHeader).\(encodedClaims).\(Base64URL.encode(try signature(input)))"
    }

    private func signature(_ message: [UInt8]) throws -> [UInt8] {
        guard let md = EVP_MD_CTX_new() else { throw CryptoError.openSSL("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(md) }
        var pctx: OpaquePointer?
        guard EVP_DigestSignInit(md, &pctx, EVP_sha256(), nil, pkey) == 1 else { throw CryptoError.openSSL("sign init") }
        if algorithm == .ps256 {
            guard EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1,
                  EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1
            else { throw CryptoError.openSSL("PSS") }
        }
        var length = 0
        guard EVP_DigestSign(md, nil, &length, message, message.count) == 1 else { throw CryptoError.openSSL("sign size") }
        var output = [UInt8](repeating: 0, count: length)
        guard EVP_DigestSign(md, &output, &length, message, message.count) == 1 else { throw CryptoError.openSSL("sign") }
        let der = Array(output.prefix(length))
        guard algorithm == .es256 else { return der }
        guard let raw = ECDSASignatureDER.decode(der: der, coordinateBytes: 32) else { throw CryptoError(operation: "ES256", detail: "DER") }
        return raw
    }

    private func coordinate(_ name: String) throws -> [UInt8] {
        var value: OpaquePointer?
        guard EVP_PKEY_get_bn_param(pkey, name, &value) == 1, let value else { throw CryptoError.openSSL(name) }
        defer { BN_free(value) }
        var bytes = [UInt8](repeating: 0, count: 32)
        guard BN_bn2binpad(value, &bytes, 32) == 32 else { throw CryptoError.openSSL("BN_bn2binpad") }
        return bytes
    }
}
