#!/usr/bin/env python3
"""Writes the seed corpora under Fuzz/corpus/ (committed; rerun only to change them).

Each file is one input of one harness (Fuzz/<Name>/): real examples from the project's tests,
fixtures and docs, plus a few near misses each check refuses. The tokens are signed by a
throwaway RSA key made here; no harness knows it.
"""
import base64, hashlib, json, pathlib, re, sys

ROOT = pathlib.Path(__file__).resolve().parents[2]
OUT = ROOT / "Fuzz" / "corpus"


def write(name, seeds):
    folder = OUT / name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.iterdir():
        old.unlink()
    for seed in seeds:
        data = seed if isinstance(seed, bytes) else seed.encode()
        (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def b64(data):
    return base64.urlsafe_b64encode(data if isinstance(data, bytes) else data.encode()).rstrip(b"=").decode()


def jwt_seeds():
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def sign(header, claims):
        head = b64(json.dumps(header, separators=(",", ":")))
        body = b64(json.dumps(claims, separators=(",", ":")))
        signature = key.sign(f"{head}.{body}".encode(), padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{b64(signature)}"

    claims = {"iss": "https://auth.example.com", "sub": "user-1", "aud": "https://mcp.example.com/mcp",
              "client_id": "c1", "scope": "notes:read notes:write", "iat": 1_700_000_000, "exp": 1_700_000_900,
              "jti": "3f2a"}
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "k1"}
    return [
        sign(header, claims),
        sign(header, dict(claims, aud=["https://mcp.example.com/mcp", "other"], nbf=1_700_000_000)),
        sign({"alg": "RS256", "typ": "application/at+jwt", "kid": "k1"}, claims),
        sign({"alg": "RS256", "typ": "JWT", "kid": "k1"}, {"iss": "c1", "sub": "c1", "aud": "https://auth.example.com/token",
                                                           "exp": 1_700_000_300, "jti": "a1"}),
        sign(header, dict(claims, exp=9_223_372_036_854_775_807, iat=-9_223_372_036_854_775_808)),
        sign({"alg": "RS256", "typ": "at+jwt", "kid": "k1", "crit": ["exp"]}, claims),
        f"{b64(json.dumps({'alg': 'none', 'typ': 'at+jwt', 'kid': 'k1'}))}.{b64(json.dumps(claims))}.",
        f"{b64(json.dumps({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'k1'}))}.{b64(json.dumps(claims))}.c2ln",
        "eyJ+.e30.AAAA",
        "a.b",
    ]


def form_seeds():
    return [
        "grant_type=authorization_code&code=SplxlOBeZQQYbYS6WxSbIA&redirect_uri=http%3A%2F%2F127.0.0.1%3A33418%2Fcallback"
        "&code_verifier=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk&client_id=3f2a&resource=https%3A%2F%2Fmcp.example.com%2Fmcp",
        "grant_type=refresh_token&refresh_token=tGzv3JOkF0XG5Qx2TlKWIA&client_id=3f2a&scope=notes%3Aread",
        "token=45ghiukldjahdnhzdauz&token_type_hint=refresh_token",
        "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token=eyJ.e30.c2ln"
        "&subject_token_type=urn%3Aietf%3Aparams%3Aoauth%3Atoken-type%3Aaccess_token&audience=upstream",
        "username=alice&password=correct+horse+battery+staple&csrf=Zm9v&flow=abc",
        "decision=allow&csrf=Zm9v&flow=abc&scope=notes%3Aread&scope=notes%3Awrite",
        "response_type=code&client_id=3f2a&redirect_uri=http%3A%2F%2F127.0.0.1%3A53682%2Fcallback&state=xyz"
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&scope=notes%3Aread+notes%3Awrite",
        "a=1&a=2&&b&=c&d=%26%3D%2B%25&e=%zz+%",
        "client_id=x&client_secret=%F0%9F%94%91&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer",
    ]


def jsonrpc_seeds():
    def msg(**fields):
        return json.dumps({"jsonrpc": "2.0", **fields})
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    return [
        msg(id=1, method="initialize", params={"protocolVersion": "2025-06-18", "capabilities": {},
                                               "clientInfo": {"name": "fuzz", "version": "1"}}),
        msg(method="notifications/initialized"),
        msg(id="a-1", method="tools/list", params={"cursor": "abc"}),
        msg(id=2, method="tools/call", params={"name": "notes_add", "arguments": {"text": "hi"}}),
        msg(id=3, method="tools/call", params={"name": "notes_search", "arguments": {"query": "x"}, "_meta": meta}),
        msg(id=4, result={"content": []}),
        msg(id=5, error={"code": -32601, "message": "no"}),
        msg(id=6, method="server/discover", params={"_meta": meta}),
        '[{"jsonrpc":"2.0","id":1,"method":"tools/list"}]',
        '{"jsonrpc":"2.0","id":null,"method":"ping"}',
        '{"jsonrpc":"2.0","id":1.5,"method":"ping","result":1}',
        '{"jsonrpc":"1.0","id":1,"method":"ping"}',
        "{",
    ]


def metadata_seeds():
    seeds = [p.read_bytes() for p in sorted((ROOT / "Tests" / "Fixtures" / "registration-bodies").glob("*.json"))]
    document = {"client_id": "https://app.example.com/oauth/client.json", "client_name": "Example",
                "redirect_uris": ["https://app.example.com/callback", "http://127.0.0.1/callback"],
                "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                "token_endpoint_auth_method": "none", "scope": "notes:read", "client_uri": "https://app.example.com"}
    seeds.append(json.dumps(document).encode())
    seeds.append(json.dumps({"client_id": "https://chatgpt.com/oauth/client.json",
                             "redirect_uris": ["https://chatgpt.com/connector_platform_oauth_redirect"],
                             "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
                             "token_endpoint_auth_method": "private_key_jwt", "application_type": "web",
                             "client_name": "ChatGPT", "token_endpoint_auth_signing_alg": "RS256",
                             "jwks_uri": "https://chatgpt.com/oauth/jwks.json"}).encode())
    seeds.append(json.dumps({"client_id": "https://app.example.com/./c.json", "client_name": "x",
                             "redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback"],
                             "token_endpoint_auth_method": "private_key_jwt",
                             "jwks": {"keys": [{"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
                                                "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0", "use": "sig"}]}}).encode())
    seeds.append(b'{"redirect_uris":["https://a.example/cb"],"client_name":"a\\u0000b"}')
    return seeds


def redirect_seeds():
    pairs = [
        ("http://127.0.0.1:53682/callback", "http://127.0.0.1/callback"),
        ("http://localhost:3000/oauth/callback?x=1", "http://localhost/oauth/callback?x=1"),
        ("http://[::1]:8080/cb", "http://[::1]/cb"),
        ("https://app.example.com/callback", "https://app.example.com/callback"),
        ("cursor://anysphere.cursor-mcp/oauth/callback", "cursor://anysphere.cursor-mcp/oauth/callback"),
        ("com.example.app:/oauth2redirect", "com.example.app:/oauth2redirect"),
        ("http://127.0.0.1:33418", "http://127.0.0.1:33418"),
        ("https://vscode.dev/redirect", "https://vscode.dev/redirect"),
        ("http://evil.example/cb", "http://127.0.0.1/cb"),
        ("javascript:alert(1)", "https://a.example/cb#frag"),
        ("http://user:pw@127.0.0.1:1/cb", "http://127.0.0.1/cb"),
        ("HTTP://LOCALHOST:9/Cb", "http://localhost/Cb"),
    ]
    return [f"{requested}\n{registered}" for requested, registered in pairs]


def config_seeds():
    seeds = []
    for doc in ["configuration.md", "gateway.md", "operations.md", "deployment.md"]:
        path = ROOT / "docs" / doc
        if path.exists():
            seeds += re.findall(r"```yaml\n(.*?)```", path.read_text(), flags=re.S)
    seeds += ["", "resources: []\n", "kek: abc\n", "insecure_cimd_allow_loopback: true\n", "issuer: [1, 2]\n",
              "resources:\n  - path: /mcp\n    builtin: notes\n  - path: /mcp\n    builtin: notes\n"]
    return seeds


if __name__ == "__main__":
    for name, seeds in [("jwt", jwt_seeds()), ("form", form_seeds()), ("jsonrpc", jsonrpc_seeds()),
                        ("client-metadata", metadata_seeds()), ("redirect-uri", redirect_seeds()), ("config", config_seeds())]:
        write(name, seeds)
        print(f"{name}: {len(seeds)} seeds", file=sys.stderr)
