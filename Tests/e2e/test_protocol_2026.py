"""MCP 2026-07-28 (the stateless revision) end to end: the official MCP Python SDK 2.3.0 client signs
in through Gatehouse with its own OAuth flow, discovers the server with `server/discover`, and lists
and calls the built-in tools with per-request `_meta` and the `Mcp-Method`/`Mcp-Name` headers; the
2025-11-25 handshake still works beside it with the same token."""
from __future__ import annotations

import anyio
import httpx
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientMetadata

from gatehouse import SDK_REDIRECT, Storage, sign_in, text_of

TOOLS = {"whoami", "notes_add", "notes_list", "notes_search", "notes_delete"}


def oauth_provider(mcp_url: str, username: str, password: str, storage: Storage) -> OAuthClientProvider:
    """The SDK's own OAuth client (discovery, registration, PKCE), signing in through our HTML form."""
    seen = {}

    async def redirect_handler(url: str) -> None:
        seen["login"] = await anyio.to_thread.run_sync(lambda: sign_in(url, SDK_REDIRECT, username, password))

    async def callback_handler() -> AuthorizationCodeResult:
        login = seen["login"]
        assert login.code, f"no code: status={login.last_status} pages={login.pages} body={login.last_body[:300]}"
        return AuthorizationCodeResult(code=login.code, state=login.state, iss=login.iss)

    return OAuthClientProvider(
        server_url=mcp_url,
        client_metadata=OAuthClientMetadata.model_validate({
            "client_name": "Gatehouse e2e 2026-07-28", "redirect_uris": [SDK_REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"],
            "token_endpoint_auth_method": "none"}),
        storage=storage, redirect_handler=redirect_handler, callback_handler=callback_handler)


def test_sdk_client_speaks_2026_07_28_to_the_built_in_tools(gatehouse, person):
    username, password = person
    storage = Storage()
    wire: list[tuple[str, dict, int, dict]] = []

    async def record(response):
        request = response.request
        if request.url.path == "/mcp" and request.method == "POST":
            wire.append((request.method, dict(request.headers), response.status_code, dict(response.headers)))

    async def run():
        import httpx2
        provider = oauth_provider(gatehouse.mcp_url, username, password, storage)
        with anyio.fail_after(60):
            async with httpx2.AsyncClient(auth=provider, timeout=15, event_hooks={"response": [record]}) as http:
                # mode="auto" (the SDK's default) probes server/discover and adopts a 2026-07-28 answer.
                async with Client(streamable_http_client(gatehouse.mcp_url, http_client=http), mode="auto") as client:
                    session = client.session
                    tools = {t.name for t in (await client.list_tools()).tools}
                    who = await client.call_tool("whoami", {})
                    added = await client.call_tool("notes_add", {"text": "stateless milk"})
                    listed = await client.call_tool("notes_list", {})
                    return session.protocol_version, session.discover_result, session.server_info, tools, who, added, listed

    version, discovered, info, tools, who, added, listed = anyio.run(run)

    assert version == "2026-07-28"
    assert discovered.supported_versions == ["2026-07-28"]
    assert discovered.capabilities.tools is not None
    assert info is not None and info.name == "gatehouse-notes"
    assert TOOLS <= tools
    assert not who.is_error and storage.client_info.client_id in text_of(who)
    assert not added.is_error and "stateless milk" in text_of(listed)
    # On the wire: no initialize, every POST carried the routing headers, no session was created.
    sent = [(headers.get("mcp-method"), headers.get("mcp-name"), status) for _, headers, status, _ in wire if status != 401]
    assert ("server/discover", None, 200) in sent
    assert ("tools/call", "notes_add", 200) in sent
    assert all(method != "initialize" for method, _, _ in sent)
    assert all(headers.get("mcp-protocol-version") == "2026-07-28" for _, headers, status, _ in wire if status != 401)
    assert all("mcp-session-id" not in response for _, _, _, response in wire)


def test_pinned_2026_client_legacy_client_and_header_mismatch_with_one_token(gatehouse, person):
    username, password = person
    storage = Storage()

    async def sign_in_only():
        import httpx2
        provider = oauth_provider(gatehouse.mcp_url, username, password, storage)
        with anyio.fail_after(60):
            async with httpx2.AsyncClient(auth=provider, timeout=15) as http:
                async with Client(streamable_http_client(gatehouse.mcp_url, http_client=http), mode="legacy") as client:
                    return client.session.protocol_version

    assert anyio.run(sign_in_only) == "2025-11-25"
    token = storage.tokens.access_token

    async def with_token(mode: str):
        import httpx2
        with anyio.fail_after(30):
            async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=15) as http:
                async with Client(streamable_http_client(gatehouse.mcp_url, http_client=http), mode=mode) as client:
                    tools = {t.name for t in (await client.list_tools()).tools}
                    who = await client.call_tool("whoami", {})
                    return client.session.protocol_version, tools, who

    # A version pin skips the probe: the first request the server sees is tools/list at 2026-07-28.
    for mode, expected in (("2026-07-28", "2026-07-28"), ("legacy", "2025-11-25")):
        version, tools, who = anyio.run(with_token, mode)
        assert version == expected and TOOLS <= tools and not who.is_error, mode

    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2026-07-28",
               "Mcp-Method": "tools/call", "Mcp-Name": "notes_list"}
    body = {"jsonrpc": "2.0", "id": 5, "method": "tools/call",
            "params": {"name": "whoami", "arguments": {}, "_meta": meta}}
    mismatch = httpx.post(gatehouse.mcp_url, headers=headers, json=body)
    assert mismatch.status_code == 400
    assert mismatch.json()["error"]["code"] == -32020 and mismatch.json()["id"] == 5
    future = httpx.post(gatehouse.mcp_url, headers={**headers, "MCP-Protocol-Version": "2027-01-01"}, json=body)
    assert future.status_code == 400 and future.json()["error"]["code"] == -32022
    assert "2026-07-28" in future.json()["error"]["data"]["supported"]
    assert httpx.get(gatehouse.mcp_url, headers={"MCP-Protocol-Version": "2026-07-28"}).status_code == 405
