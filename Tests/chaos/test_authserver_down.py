"""Scenario 3, short: the AuthServer goes down while the ResourceServer serves.

The bar (issue 14): the ResourceServer keeps serving tokens whose key it has cached; a token with
an unknown `kid` gets 401, not 500; the JWKS refetch is rate-limited; recovery when the
AuthServer returns. The ResourceServer reads the JWKS through a counting proxy here, so the test
sees every fetch it makes.
"""
from __future__ import annotations

import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from chaos import report
from gatehouse import Deployment, base_env, free_port, start, tokens_for

REDIRECT = "http://127.0.0.1:9/callback"
CALLS = 40
STRANGER = RSAKey.generate_key(2048)   # a key the AuthServer never published


class CountingJWKSProxy:
    """GET /jwks.json forwarded to the AuthServer; 502 when it is down. Counts every fetch."""

    def __init__(self) -> None:
        self.target = ""
        self.fetches: list[float] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                proxy.fetches.append(time.monotonic())
                try:
                    r = httpx.get(proxy.target, timeout=2)
                    status, body, kind = r.status_code, r.content, r.headers.get("content-type", "application/json")
                except httpx.HTTPError:
                    status, body, kind = 502, b'{"error":"bad gateway"}', "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/jwks.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def count_since(self, moment: float) -> int:
        return sum(1 for t in self.fetches if t >= moment)


def mcp(d, token: str) -> httpx.Response:
    return httpx.post(d.mcp_url, timeout=10, headers={
        "Authorization": f"Bearer {token}", "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": "2025-06-18"}, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})


def unknown_kid_token(d) -> str:
    """A well-formed token for this resource whose `kid` the AuthServer never published."""
    now = int(time.time())
    claims = {"iss": d.issuer, "aud": d.mcp_url, "sub": str(uuid.uuid4()), "client_id": "x", "scope": "notes:read",
              "iat": now, "exp": now + 300, "jti": str(uuid.uuid4())}
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "chaos-" + uuid.uuid4().hex[:8]}, claims, STRANGER)


@pytest.fixture
def stack(logdir):
    proxy = CountingJWKSProxy()
    as_port, rs_port = free_port(), free_port()
    issuer, mcp_url = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}/mcp"
    proxy.target = issuer + "/jwks.json"
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=mcp_url, GATEHOUSE_AUTH_PORT=str(as_port),
                   GATEHOUSE_RS_PORT=str(rs_port), GATEHOUSE_JWKS_URI=proxy.url)
    d = Deployment(issuer, mcp_url, env)
    d.services.append(start("auth", ["AuthServer", "serve"], env, as_port, logdir))
    d.services.append(start("resource", ["ResourceServer", "serve"], env, rs_port, logdir))
    yield d, proxy
    codes = d.stop()
    proxy.server.shutdown()
    assert all(code in (0, None) for code in codes.values()), f"services did not stop cleanly: {codes}"


@pytest.mark.short
def test_authserver_down(stack, logdir):
    d, proxy = stack
    username, password = d.create_user()
    token = tokens_for(d.issuer, d.mcp_url, username, password, REDIRECT)["access_token"]
    assert mcp(d, token).status_code == 200

    auth = d.services[0]
    assert auth.stop() == 0
    down_at = time.monotonic()
    cached = [mcp(d, token).status_code for _ in range(CALLS)]

    unknown_started = time.monotonic()
    unknown = []
    for _ in range(CALLS):
        r = mcp(d, unknown_kid_token(d))
        unknown.append((r.status_code, r.headers.get("www-authenticate", "")))
    unknown_seconds = time.monotonic() - unknown_started
    fetches_while_down = proxy.count_since(down_at)

    # The AuthServer comes back on the same address; a token it issues now works at once.
    d.services[0] = start("auth", ["AuthServer", "serve"], d.env, auth.port, logdir)
    back_at = time.monotonic()
    fresh = tokens_for(d.issuer, d.mcp_url, username, password, REDIRECT)["access_token"]
    fresh_status = mcp(d, fresh).status_code
    recovery = time.monotonic() - back_at

    report("authserver-down", cached_key_calls=CALLS, cached_statuses=sorted(set(cached)),
           unknown_kid_calls=CALLS, unknown_kid_statuses=sorted({s for s, _ in unknown}),
           unknown_kid_seconds=round(unknown_seconds, 2), jwks_fetches_while_down=fetches_while_down,
           fresh_token_status=fresh_status, recovery_seconds=round(recovery, 2))
    assert set(cached) == {200}, f"tokens with a cached key were refused while the AuthServer was down: {cached}"
    assert {s for s, _ in unknown} == {401}, f"unknown-kid tokens answered {[s for s, _ in unknown]}"
    assert all('error="invalid_token"' in challenge for _, challenge in unknown), unknown[:2]
    # At most one fetch per minimum interval (10 s): a flood of made-up kids is not a flood of fetches.
    assert fetches_while_down <= 1 + int((time.monotonic() - down_at) / 10), f"{fetches_while_down} JWKS fetches while down"
    assert fresh_status == 200
