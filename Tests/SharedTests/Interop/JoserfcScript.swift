/// Python helper for `InteropTests`, run with the system `python3` against joserfc + cryptography.
///
/// Kept as a Swift string (written to a temp dir at test time) rather than a `.py` file: SwiftPM warns about
/// unhandled files inside a target's directory, and the build must stay warning-free.
enum JoserfcScript {
    static let source = #"""
#!/usr/bin/env python3
"""Independent JOSE implementation (joserfc + cryptography) for Gatehouse's interop tests.

  verify <token-file> <jwks-file> <typ>   -> prints the verified claims as JSON
  sign <private-key-pem-file> <kid> <typ> <claims-json-file>  -> prints a compact RS256 JWS

Exits non-zero with a message on stderr on any failure (including joserfc being absent).
"""
import json
import sys

try:
    from joserfc import jwt
    from joserfc.jwk import KeySet, RSAKey
except ImportError as error:  # the Swift test turns this into a failure, never a skip
    sys.exit(f"joserfc is not importable by {sys.executable}: {error}")


def read(path):
    with open(path, "rb") as handle:
        return handle.read()


def verify(token_path, jwks_path, typ):
    keys = KeySet.import_key_set(json.loads(read(jwks_path)))
    token = jwt.decode(read(token_path).decode("ascii"), keys, algorithms=["RS256"])
    if token.header.get("typ") != typ:
        sys.exit(f"unexpected typ {token.header.get('typ')!r}")
    print(json.dumps(token.claims, sort_keys=True))


def sign(key_path, kid, typ, claims_path):
    key = RSAKey.import_key(read(key_path))
    header = {"alg": "RS256", "kid": kid, "typ": typ}
    print(jwt.encode(header, json.loads(read(claims_path)), key, algorithms=["RS256"]))


if __name__ == "__main__":
    command, *args = sys.argv[1:] or [""]
    if command == "verify" and len(args) == 3:
        verify(*args)
    elif command == "sign" and len(args) == 4:
        sign(*args)
    else:
        sys.exit(__doc__)
"""#
}
