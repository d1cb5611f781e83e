"""End to end with the official MCP Python SDK client: discovery, dynamic registration, PKCE,
sign-in through our HTML form, consent, token, and MCP tool calls on the resource server."""
from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import anyio
import httpx
import pytest

from gatehouse import SDK_REDIRECT as REDIRECT
from gatehouse import Storage, sdk_session, sign_in, text_of


def test_official_sdk_client_completes_the_flow_and_calls_tools(gatehouse, person):
    username, password = person
    storage = Storage()

    async def calls(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        who = await session.call_tool("whoami", {})
        added = await session.call_tool("notes_add", {"text": "remember the milk"})
        listed = await session.call_tool("notes_list", {})
        return tools, who, added, listed

    init, seen, (tools, who, added, listed) = anyio.run(
        sdk_session, gatehouse.mcp_url, username, password, storage, calls)

    assert init.protocol_version in ("2025-06-18", "2025-11-25")
    assert {"whoami", "notes_add", "notes_list", "notes_search", "notes_delete"} <= tools
    # The SDK asked for the scopes the resource server advertised, with PKCE S256 and the resource.
    q = {k: v[0] for k, v in parse_qs(urlparse(seen["authorize_url"]).query).items()}
    assert q["code_challenge_method"] == "S256" and q["resource"] == gatehouse.mcp_url
    # It passed through our login and consent pages, and the redirect carried iss (RFC 9207).
    assert seen["login"].pages == ["login", "consent"]
    assert seen["login"].iss == gatehouse.issuer
    assert not who.is_error and storage.client_info.client_id in text_of(who)
    assert not added.is_error and "remember the milk" in text_of(listed)
    assert storage.tokens.refresh_token, "no refresh token issued"


def test_refresh_rotation_and_revocation_reach_the_resource_server(gatehouse, person):
    username, password = person
    storage = Storage()

    async def calls(session):
        return None

    anyio.run(sdk_session, gatehouse.mcp_url, username, password, storage, calls)
    client_id = storage.client_info.client_id
    token_url = gatehouse.issuer + "/token"
    first = storage.tokens
    r = httpx.post(token_url, data={"grant_type": "refresh_token", "refresh_token": first.refresh_token,
                                    "client_id": client_id, "resource": gatehouse.mcp_url})
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    second = r.json()
    assert second["refresh_token"] != first.refresh_token
    mcp = lambda token: httpx.post(gatehouse.mcp_url, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert mcp(second["access_token"]).status_code == 200
    # Revoking the refresh token revokes its family, and the resource server refuses the
    # family's access tokens within a second.
    r = httpx.post(gatehouse.issuer + "/revoke", data={"token": second["refresh_token"], "client_id": client_id})
    assert r.status_code == 200
    deadline = time.time() + 1.5
    status = None
    while time.time() < deadline:
        status = mcp(second["access_token"]).status_code
        if status == 401:
            break
        time.sleep(0.1)
    assert status == 401, "a revoked access token was still accepted after 1.5 s"
    r = httpx.post(token_url, data={"grant_type": "refresh_token", "refresh_token": second["refresh_token"],
                                    "client_id": client_id})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"


def test_consent_is_remembered_only_for_https_clients_and_deny_returns_access_denied(gatehouse, person):
    username, password = person
    import base64, hashlib, secrets
    reg = httpx.post(gatehouse.issuer + "/register", json={
        "client_name": "Deny test", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    def authorize_url(client_id: str, redirect: str) -> str:
        return str(httpx.URL(gatehouse.issuer + "/authorize", params={
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect, "state": "s1",
            "code_challenge": challenge, "code_challenge_method": "S256"}))
    url = authorize_url(reg["client_id"], REDIRECT)
    with httpx.Client(follow_redirects=False) as browser:
        denied = sign_in(url, REDIRECT, username, password, decision="deny", client=browser)
        assert denied.error == "access_denied" and denied.state == "s1" and denied.iss == gatehouse.issuer
        allowed = sign_in(url, REDIRECT, username, password, client=browser)
        assert allowed.code and allowed.pages == ["consent"], allowed.pages  # still signed in
        # RFC 8252 §8.6: a loopback client's identity cannot be proven, so it is asked every time.
        again = sign_in(url, REDIRECT, username, password, client=browser)
        assert again.code and again.pages == ["consent"], again.pages
        # A client whose https redirect URI proves who receives the code keeps remembered consent.
        https_redirect = "https://app.example.com/callback"
        web = httpx.post(gatehouse.issuer + "/register", json={
            "client_name": "Remembered", "redirect_uris": [https_redirect], "token_endpoint_auth_method": "none"}).json()
        web_url = authorize_url(web["client_id"], https_redirect)
        first = sign_in(web_url, https_redirect, username, password, client=browser)
        assert first.code and first.pages == ["consent"], (first.pages, first.last_body[:300])
        remembered = sign_in(web_url, https_redirect, username, password, client=browser)
        assert remembered.code and remembered.pages == [], "consent was not remembered"
