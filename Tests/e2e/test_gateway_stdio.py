"""The gateway in front of a stdio MCP server written with the official Python SDK.

One AuthServer and one ResourceServer read a config file declaring `/mcp/files`, an
`upstream.stdio` resource whose command is Tests/e2e/upstreams/stdio_upstream.py, next to the
built-in `/mcp/notes`. The ResourceServer spawns one process per user; the official SDK client
drives the MCP side. The upstream's tools report what the process sees (its environment, its pid),
so the tests check from the upstream's side who it was started for.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

import anyio
import httpx
import pytest

from gatehouse import BIN, Deployment, base_env, sdk_session_with_token, start, text_of, tokens_for

HERE = os.path.dirname(os.path.abspath(__file__))
PYTHON = sys.executable
# G3's port range (18300-18399).
AS_PORT, RS_PORT = 18310, 18311
REDIRECT = "http://127.0.0.1:18399/callback"

CONFIG = """\
resources:
  - path: /mcp/files
    name: Files
    scopes:
      files:read: Read your files
      files:write: Change your files
    tools:
      "confirm": [files:write]
      "*": [files:read]
    upstream:
      stdio:
        command: [{python}, {script}]
        per_user: true
        env: {{GREETING: hello from the config}}
        idle_timeout: 300
        max_processes: 20
  - path: /mcp/notes
    builtin: notes
"""


@pytest.fixture(scope="module")
def gateway(logdir):
    tmp = tempfile.mkdtemp(prefix="gatehouse-gw-stdio-")
    issuer, origin = f"http://127.0.0.1:{AS_PORT}", f"http://127.0.0.1:{RS_PORT}"
    config = os.path.join(tmp, "gatehouse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(python=json.dumps(PYTHON), script=json.dumps(os.path.join(HERE, "upstreams", "stdio_upstream.py"))))
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=origin + "/mcp/notes",
                   GATEHOUSE_AUTH_PORT=str(AS_PORT), GATEHOUSE_RS_PORT=str(RS_PORT), GATEHOUSE_CONFIG=config)
    r = subprocess.run([os.path.join(BIN, "AuthServer"), "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    d = Deployment(issuer, origin + "/mcp/files", env)
    d.pids = set()
    try:
        d.services.append(start("gw-stdio-auth", ["AuthServer", "serve"], env, AS_PORT, logdir))
        d.services.append(start("gw-stdio-resource", ["ResourceServer", "serve"], env, RS_PORT, logdir))
        yield d
    finally:
        codes = d.stop()
    assert all(code == 0 for code in codes.values()), codes
    # A process never outlives the service: every child the tests saw is gone after SIGTERM.
    alive = [pid for pid in d.pids if _running(pid)]
    assert not alive, f"upstream processes outlived the ResourceServer: {alive}"


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return ") Z " not in f.read()
    except FileNotFoundError:
        return False


def _messages(error: BaseException) -> str:
    """The messages of an error and, for the task groups anyio raises, of everything inside."""
    if isinstance(error, BaseExceptionGroup):
        return " ".join(_messages(inner) for inner in error.exceptions)
    return str(error)


def token_for(d: Deployment, username: str, password: str, scope: str | None = None) -> dict:
    return tokens_for(d.issuer, d.mcp_url, username, password, REDIRECT, scope, client_name="Gateway stdio e2e")


def whoami(d: Deployment, token: str) -> dict:
    async def calls(session):
        return json.loads(text_of(await session.call_tool("whoami", {})))
    _, seen = anyio.run(sdk_session_with_token, d.mcp_url, token, calls)
    d.pids.add(seen["pid"])
    return seen


@pytest.fixture(scope="module")
def alice(gateway):
    username, password = gateway.create_user()
    return username, token_for(gateway, username, password)


@pytest.fixture(scope="module")
def bob(gateway):
    username, password = gateway.create_user()
    return username, token_for(gateway, username, password)


def test_sdk_client_lists_and_calls_tools(gateway, alice):
    username, tokens = alice

    async def calls(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        echo = await session.call_tool("echo", {"text": "héllo through the gateway"})
        return tools, echo

    init, (tools, echo) = anyio.run(sdk_session_with_token, gateway.mcp_url, tokens["access_token"], calls)
    assert init.server_info.name == "stdio-upstream"
    assert {"whoami", "echo", "slow", "crash", "confirm"} <= tools
    assert not echo.is_error and text_of(echo) == "héllo through the gateway"


def test_two_users_get_two_processes_each_with_only_its_own_identity(gateway, alice, bob):
    alice_name, alice_tokens = alice
    bob_name, bob_tokens = bob
    a = whoami(gateway, alice_tokens["access_token"])
    b = whoami(gateway, bob_tokens["access_token"])
    assert a["username"] == alice_name and b["username"] == bob_name
    assert a["subject"] and b["subject"] and a["subject"] != b["subject"]
    assert a["pid"] != b["pid"]
    # The same user's next session reaches the same process.
    assert whoami(gateway, alice_tokens["access_token"])["pid"] == a["pid"]
    # The process has its own identity, the configured env and a minimal base: none of Gatehouse's.
    assert a["greeting"] == "hello from the config"
    assert "DATABASE_URL" not in a["environment"] and "GATEHOUSE_KEK" not in a["environment"]
    assert not any(name.startswith("GATEHOUSE_") and name not in ("GATEHOUSE_SUBJECT", "GATEHOUSE_USERNAME")
                   for name in a["environment"]), a["environment"]
    # The live-process gauge, per resource, on the ResourceServer's /metrics.
    metrics = httpx.get(f"http://127.0.0.1:{RS_PORT}/metrics", timeout=10).text
    gauge = [line for line in metrics.splitlines()
             if line.startswith("gatehouse_gateway_processes{") and 'resource="/mcp/files"' in line]
    assert gauge and float(gauge[0].split()[-1]) >= 2, gauge or metrics[:2000]


def test_progress_notifications_arrive_while_the_slow_tool_runs(gateway, alice):
    _, tokens = alice
    seen: list[tuple[float, float]] = []

    async def progress(value, total, message):
        seen.append((time.monotonic(), value))

    async def calls(session):
        started = time.monotonic()
        result = await session.call_tool("slow", {"steps": 4, "delay": 0.5}, progress_callback=progress)
        return started, time.monotonic(), result

    _, (started, finished, result) = anyio.run(sdk_session_with_token, gateway.mcp_url, tokens["access_token"], calls)
    assert not result.is_error and text_of(result) == "done after 4 steps"
    assert [value for _, value in seen] == [1, 2, 3, 4]
    assert seen[0][0] - started < 1.2 and finished - seen[0][0] > 1.2, (started, seen, finished)


def test_a_server_request_reaches_the_session_that_caused_it(gateway, alice):
    from mcp.types import ElicitResult

    _, tokens = alice
    asked: list[str] = []

    async def elicit(context, params):
        asked.append(params.message)
        return ElicitResult(action="accept", content={"confirmed": True})

    async def calls(session):
        return await session.call_tool("confirm", {"question": "Delete the file?"})

    _, result = anyio.run(lambda: sdk_session_with_token(gateway.mcp_url, tokens["access_token"], calls, elicitation_callback=elicit))
    assert asked == ["Delete the file?"]
    assert not result.is_error and text_of(result) == "confirmed=True"


def test_a_read_only_token_is_refused_on_a_write_tool_with_the_scope(gateway):
    username, password = gateway.create_user()
    tokens = token_for(gateway, username, password, scope="files:read")
    headers = {"Authorization": f"Bearer {tokens['access_token']}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    r = httpx.post(gateway.mcp_url, headers=headers, timeout=30, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "confirm", "arguments": {"question": "?"}}})
    assert r.status_code == 403, r.text
    assert 'error="insufficient_scope"' in r.headers["www-authenticate"]
    assert "files:write" in r.headers["www-authenticate"]


def test_a_crash_fails_the_call_and_the_next_call_works(gateway, bob):
    _, tokens = bob
    before = whoami(gateway, tokens["access_token"])

    async def crash(session):
        return await session.call_tool("crash", {})

    with pytest.raises(Exception) as failure:
        anyio.run(sdk_session_with_token, gateway.mcp_url, tokens["access_token"], crash)
    assert "exited while handling this request" in _messages(failure.value), failure.value
    after = whoami(gateway, tokens["access_token"])
    assert after["subject"] == before["subject"] and after["pid"] != before["pid"]
    assert not _running(before["pid"])


def test_twenty_concurrent_sessions_of_one_user_share_its_process(gateway, alice):
    _, tokens = alice
    results: dict[int, tuple[str, int]] = {}

    async def one(index: int):
        async def calls(session):
            # Every session numbers its requests from the same small ids: the gateway keeps them apart.
            echo = await session.call_tool("echo", {"text": f"session {index}"})
            seen = json.loads(text_of(await session.call_tool("whoami", {})))
            return text_of(echo), seen["pid"]
        _, results[index] = await sdk_session_with_token(gateway.mcp_url, tokens["access_token"], calls)

    async def main():
        async with anyio.create_task_group() as group:
            for index in range(20):
                group.start_soon(one, index)

    anyio.run(main)
    assert {index: text for index, (text, _) in results.items()} == {index: f"session {index}" for index in range(20)}
    pids = {pid for _, pid in results.values()}
    assert len(pids) == 1, pids
    gateway.pids |= pids
