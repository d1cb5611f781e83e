"""Issue 9 A.3: every real client's registration, end to end: register -> authorize -> token -> MCP
call with the official MCP Python SDK client. The bodies are the ones in
Tests/Fixtures/registration-bodies (README there says where each comes from).

Loopback redirect URIs are used on another port than registered, as native clients do
(RFC 8252 §7.3); private-use schemes (Cursor's cursor://, Warp's warp://) are matched exactly, and
the redirect carrying the code is read from the Location header without being followed."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from urllib.parse import urlparse, urlunparse

import anyio
import httpx
import pytest

from gatehouse import ROOT, free_port, list_tools, sign_in

FIXTURES = os.path.join(ROOT, "Tests", "Fixtures", "registration-bodies")
BODIES = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".json"))
# What some clients leave out of the authorization request (../shared/research/clients.md).
OMITS_SCOPE = {"copilot-cli.json"}
OMITS_RESOURCE = {"warp.json"}


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def at_request_time(redirect: str) -> str:
    """A loopback redirect as the client sends it: the same path on a port of the moment."""
    parts = urlparse(redirect)
    if parts.scheme == "http":
        return urlunparse(parts._replace(netloc=f"{parts.hostname if ':' not in parts.hostname else '[::1]'}:{free_port()}"))
    return redirect


@pytest.mark.parametrize("fixture", BODIES)
def test_real_client_registers_authorizes_and_calls_tools(gatehouse, person, fixture):
    username, password = person
    with open(os.path.join(FIXTURES, fixture)) as f:
        body = json.load(f)
    r = httpx.post(gatehouse.issuer + "/register", json=body)
    assert r.status_code == 201, f"{fixture}: {r.status_code} {r.text}"
    registered = r.json()
    prm = httpx.get(gatehouse.mcp_url.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")).json()

    with httpx.Client(follow_redirects=False, timeout=15) as browser:
        for redirect in body["redirect_uris"]:
            actual = at_request_time(redirect)
            verifier, challenge = pkce()
            params = {"response_type": "code", "client_id": registered["client_id"], "redirect_uri": actual,
                      "state": secrets.token_hex(8), "code_challenge": challenge, "code_challenge_method": "S256"}
            if fixture not in OMITS_SCOPE:
                params["scope"] = " ".join(prm["scopes_supported"])
            if fixture not in OMITS_RESOURCE:
                params["resource"] = gatehouse.mcp_url
            url = str(httpx.URL(gatehouse.issuer + "/authorize", params=params))
            login = sign_in(url, actual, username, password, client=browser)
            assert login.code, f"{fixture} {actual}: no code: {login.last_status} {login.pages} {login.last_body[:300]}"
            assert login.state == params["state"] and login.iss == gatehouse.issuer
            # A redirect that only a local app receives always shows the consent page (RFC 8252 §8.6).
            if not actual.startswith("https://"):
                assert "consent" in login.pages, f"{fixture} {actual}: {login.pages}"

            form = {"grant_type": "authorization_code", "code": login.code, "redirect_uri": actual,
                    "code_verifier": verifier}
            if fixture not in OMITS_RESOURCE:
                form["resource"] = gatehouse.mcp_url
            auth = None
            if registered.get("client_secret"):
                auth = (registered["client_id"], registered["client_secret"])
            else:
                form["client_id"] = registered["client_id"]
            t = httpx.post(gatehouse.issuer + "/token", data=form, auth=auth)
            assert t.status_code == 200, f"{fixture} {actual}: {t.status_code} {t.text}"
            tokens = t.json()
            assert tokens["token_type"].lower() == "bearer" and tokens.get("refresh_token")
            tools = anyio.run(list_tools, gatehouse.mcp_url, tokens["access_token"])
            assert {"whoami", "notes_list"} <= tools, f"{fixture}: {tools}"
