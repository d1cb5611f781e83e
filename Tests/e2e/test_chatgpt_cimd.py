"""Issue 9 A.1/A.3: ChatGPT as it connects today, end to end. Its client ID metadata document
(verbatim but for the URLs, which point at a loopback document server here) declares
`private_key_jwt`, so the code exchange and the refresh carry an RS256 client assertion signed
with the key its JWKS publishes; the token then works at the resource server through the official
MCP Python SDK client. Both documents ChatGPT publishes are exercised: the platform one and a
per-connector one."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import anyio
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from gatehouse import deploy, list_tools, sign_in

KEY = RSAKey.generate_key(2048, parameters={"kid": "chatgpt-test-key", "use": "sig", "alg": "RS256"})


class Documents:
    """A loopback HTTP server publishing the client metadata documents and the JWKS."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        documents = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                body = documents.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Cache-Control", "max-age=300")
                self.end_headers()
                self.wfile.write(body or b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def publish(self, path: str, value: dict) -> str:
        self.files[path] = json.dumps(value).encode()
        return self.base + path


@pytest.fixture(scope="module")
def documents():
    d = Documents()
    d.publish("/oauth/jwks.json", {"keys": [KEY.as_dict(private=False)]})
    yield d
    d.server.shutdown()


@pytest.fixture(scope="module")
def loopback_cimd(logdir):
    """A deployment that may fetch metadata documents from this machine (tests only)."""
    d = deploy(logdir, GATEHOUSE_INSECURE_CIMD_ALLOW_LOOPBACK="true")
    yield d
    assert d.stop() == {"auth": 0, "resource": 0}


def chatgpt_document(documents: Documents, path: str, redirect: str) -> str:
    client_id = documents.base + path
    documents.publish(path, {
        "client_id": client_id, "client_uri": "https://chatgpt.com/",
        "redirect_uris": [redirect],
        "token_endpoint_auth_method": "private_key_jwt",
        "token_endpoint_auth_methods_supported": ["none", "private_key_jwt"],
        "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
        "client_name": "ChatGPT", "logo_uri": "https://persistent.oaistatic.com/sonic/misc/openai-logo.png",
        "token_endpoint_auth_signing_alg": "RS256", "jwks_uri": documents.base + "/oauth/jwks.json"})
    return client_id


def assertion(client_id: str, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": audience, "iat": now, "exp": now + 120,
              "jti": str(uuid.uuid4())}
    return jwt.encode({"alg": "RS256", "kid": "chatgpt-test-key", "typ": "JWT"}, claims, KEY)


ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.mark.parametrize("path,redirect", [
    ("/oauth/client.json", "https://chatgpt.com/connector_platform_oauth_redirect"),
    ("/oauth/c-6a1f0e/client.json", "https://chatgpt.com/connector/oauth/c-6a1f0e"),
])
def test_chatgpt_metadata_document_with_private_key_jwt(loopback_cimd, documents, path, redirect):
    gatehouse = loopback_cimd
    username, password = gatehouse.create_user()
    client_id = chatgpt_document(documents, path, redirect)
    token_url = gatehouse.issuer + "/token"
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    url = str(httpx.URL(gatehouse.issuer + "/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": "st",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": gatehouse.mcp_url,
        "scope": "notes:read notes:write"}))
    login = sign_in(url, redirect, username, password)
    assert login.code, f"no code: {login.last_status} {login.pages} {login.last_body[:400]}"
    assert login.pages == ["login", "consent"] and login.iss == gatehouse.issuer

    exchange = {"grant_type": "authorization_code", "code": login.code, "redirect_uri": redirect,
                "code_verifier": verifier, "client_id": client_id, "resource": gatehouse.mcp_url}
    # No silent downgrade: the document declares private_key_jwt, so a request without an
    # assertion is refused, and the code stays usable for the real one.
    bare = httpx.post(token_url, data=exchange)
    assert bare.status_code == 401 and bare.json()["error"] == "invalid_client", bare.text
    signed = assertion(client_id, token_url)
    t = httpx.post(token_url, data={**exchange, "client_assertion_type": ASSERTION_TYPE, "client_assertion": signed})
    assert t.status_code == 200, t.text
    tokens = t.json()
    assert {"whoami", "notes_list"} <= anyio.run(list_tools, gatehouse.mcp_url, tokens["access_token"])

    # The refresh grant authenticates the same way; a replayed assertion is refused.
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id,
               "client_assertion_type": ASSERTION_TYPE}
    replayed = httpx.post(token_url, data={**refresh, "client_assertion": signed})
    assert replayed.status_code == 401 and replayed.json()["error"] == "invalid_client", replayed.text
    r = httpx.post(token_url, data={**refresh, "client_assertion": assertion(client_id, gatehouse.issuer)})
    assert r.status_code == 200, r.text
    assert {"whoami"} <= anyio.run(list_tools, gatehouse.mcp_url, r.json()["access_token"])
