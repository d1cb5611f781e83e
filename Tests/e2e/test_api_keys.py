"""API keys (issue 13 item 2) across both real services: `AuthServer tokens create` prints a key,
the official MCP client uses it as a fixed `Authorization: Bearer gh_pat_…` header, and
`tokens revoke` (or `users disable`) makes the ResourceServer refuse it within about a second."""
from __future__ import annotations

import json
import time

import anyio
import httpx

from gatehouse import list_tools

WHOAMI = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json",
           "MCP-Protocol-Version": "2025-11-25"}


def create_key(gatehouse, username: str, *scopes: str) -> str:
    args = ["tokens", "create", "--user", username, "--resource", gatehouse.mcp_url, "--expires", "1d"]
    for scope in scopes:
        args += ["--scope", scope]
    r = gatehouse.admin(*args)
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip()
    assert key.startswith("gh_pat_") and len(key) == 50
    return key


def whoami(gatehouse, key: str) -> httpx.Response:
    return httpx.post(gatehouse.mcp_url, json=WHOAMI, headers={**HEADERS, "Authorization": f"Bearer {key}"}, timeout=10)


def refused_within(gatehouse, key: str, seconds: float) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        reply = whoami(gatehouse, key)
        if reply.status_code != 200 or time.monotonic() > deadline:
            return reply
        time.sleep(0.05)


def test_key_as_fixed_header_then_revoked(gatehouse, person):
    username, _ = person
    key = create_key(gatehouse, username, "notes:read")
    assert "notes_list" in anyio.run(list_tools, gatehouse.mcp_url, key)
    assert whoami(gatehouse, key).status_code == 200

    listed = json.loads(gatehouse.admin("tokens", "list", "--user", username, "--json").stdout)
    assert len(listed) == 1 and listed[0]["state"] == "active" and key not in json.dumps(listed)
    r = gatehouse.admin("tokens", "revoke", listed[0]["id"])
    assert r.returncode == 0, r.stderr
    start = time.monotonic()
    reply = refused_within(gatehouse, key, 5)
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_token"
    assert 'error_description="token revoked"' in reply.headers["www-authenticate"]
    assert time.monotonic() - start < 2


def test_disabling_the_user_ends_their_keys(gatehouse, person):
    username, _ = person
    key = create_key(gatehouse, username, "notes:read", "notes:write")
    assert whoami(gatehouse, key).status_code == 200
    assert gatehouse.admin("users", "disable", username).returncode == 0
    reply = refused_within(gatehouse, key, 5)
    assert reply.status_code == 401 and reply.json()["error"] == "invalid_token"
