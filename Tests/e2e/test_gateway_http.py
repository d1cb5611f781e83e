"""The gateway in front of a Streamable HTTP MCP server written with the official Python SDK.

One AuthServer and one ResourceServer read a config file declaring `/mcp/crm`, an `upstream.http`
resource with `identity.token` and `identity.headers`, next to the built-in `/mcp/notes`. The
upstream (Tests/e2e/upstreams/http_upstream.py) records the headers of every request it gets and
verifies the exchanged token against Gatehouse's JWKS, so the tests can check, from the
upstream's side, what crossed the gateway. The official SDK client drives the MCP side.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
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
# G2's port range (18200-18299).
AS_PORT, RS_PORT, UPSTREAM_PORT, DOWN_PORT = 18210, 18211, 18212, 18213
REDIRECT = "http://127.0.0.1:18299/callback"
RS_CLIENT_ID = "gatehouse-resource-server"

CONFIG = """\
resources:
  - path: /mcp/crm
    name: CRM
    scopes:
      crm:read: Read the CRM
      crm:write: Change the CRM
    tools:
      "write_*": [crm:write]
      "*": [crm:read]
    upstream:
      http:
        url: {upstream}
        timeout: 20
    identity:
      token: true
      headers: true
  - path: /mcp/down
    name: Down
    scopes: {{down:read: Read nothing}}
    tools: {{"*": [down:read]}}
    upstream:
      http:
        url: http://127.0.0.1:{down_port}/mcp
        timeout: 5
  - path: /mcp/notes
    builtin: notes
"""


class Upstream:
    """The SDK upstream as a process on loopback, restartable (for the "down" test)."""

    def __init__(self, tmp: str, issuer: str, port: int = UPSTREAM_PORT):
        self.record = os.path.join(tmp, "upstream-headers.jsonl")
        self.log = os.path.join(tmp, "upstream.log")
        self.issuer = issuer
        self.port = port
        self.url = f"http://127.0.0.1:{port}/mcp"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [PYTHON, os.path.join(HERE, "upstreams", "http_upstream.py"), "--port", str(self.port),
             "--record", self.record, "--issuer", self.issuer],
            stdout=open(self.log, "a"), stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            assert self.proc.poll() is None, open(self.log).read()
            try:
                httpx.get(self.url, timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)
        raise RuntimeError("the upstream did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def requests(self) -> list[dict]:
        if not os.path.exists(self.record):
            return []
        with open(self.record) as f:
            return [json.loads(line) for line in f if line.strip()]


@pytest.fixture(scope="module")
def gateway(logdir):
    tmp = tempfile.mkdtemp(prefix="gatehouse-gw-http-")
    issuer, origin = f"http://127.0.0.1:{AS_PORT}", f"http://127.0.0.1:{RS_PORT}"
    upstream = Upstream(tmp, issuer)
    config = os.path.join(tmp, "gatehouse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(upstream=upstream.url, down_port=DOWN_PORT))
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=origin + "/mcp/notes",
                   GATEHOUSE_AUTH_PORT=str(AS_PORT), GATEHOUSE_RS_PORT=str(RS_PORT), GATEHOUSE_CONFIG=config,
                   GATEHOUSE_RS_CLIENT_ID=RS_CLIENT_ID,
                   GATEHOUSE_RS_CLIENT_SECRET_FILE=os.path.join(tmp, "rs-client-secret"))
    # `migrate` creates the ResourceServer's own client and writes its secret file.
    r = subprocess.run([os.path.join(BIN, "AuthServer"), "migrate"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    upstream.start()
    d = Deployment(issuer, origin + "/mcp/crm", env)
    d.origin, d.upstream, d.tmp = origin, upstream, tmp
    try:
        d.services.append(start("gw-http-auth", ["AuthServer", "serve"], env, AS_PORT, logdir))
        d.services.append(start("gw-http-resource", ["ResourceServer", "serve"], env, RS_PORT, logdir))
        yield d
    finally:
        codes = d.stop()
        upstream.stop()
    assert all(code == 0 for code in codes.values()), codes


def token_for(d: Deployment, resource: str, username: str, password: str, scope: str | None = None) -> dict:
    return tokens_for(d.issuer, resource, username, password, REDIRECT, scope, client_name="Gateway e2e")


def mcp_post(url: str, token: str, message: dict, session: str | None = None, timeout: float = 15) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
               "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    if session:
        headers["Mcp-Session-Id"] = session
    return httpx.post(url, headers=headers, json=message, timeout=timeout)


INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "e2e", "version": "1"}}}


@pytest.fixture(scope="module")
def alice(gateway):
    username, password = gateway.create_user()
    return username, token_for(gateway, gateway.mcp_url, username, password)


def test_sdk_client_lists_and_calls_tools_and_the_upstream_verifies_its_own_token(gateway, alice):
    username, tokens = alice

    async def calls(session):
        tools = {t.name for t in (await session.list_tools()).tools}
        echo = await session.call_tool("echo", {"text": "héllo through the gateway"})
        who = await session.call_tool("whoami", {})
        return tools, echo, who

    init, (tools, echo, who) = anyio.run(sdk_session_with_token, gateway.mcp_url, tokens["access_token"], calls)
    assert init.server_info.name == "gatehouse-e2e-http-upstream"
    assert {"whoami", "echo", "slow", "write_note"} <= tools
    assert not echo.is_error and text_of(echo) == "héllo through the gateway"
    seen = json.loads(text_of(who))
    # identity.headers: set by the gateway from the verified token, username from the users table.
    sub = seen["headers"]["x-gatehouse-subject"]
    assert seen["headers"]["x-gatehouse-username"] == username
    assert seen["headers"]["x-gatehouse-client-id"] == tokens["client_id"]
    assert set(seen["headers"]["x-gatehouse-scopes"].split()) == {"crm:read", "crm:write"}
    # identity.token: verified by the upstream with PyJWT against Gatehouse's JWKS, aud = its own URL.
    token = seen["token"]
    assert token["verified"], token
    claims = token["claims"]
    assert claims["sub"] == sub and claims["aud"] in (gateway.upstream.url, [gateway.upstream.url])
    assert claims["iss"] == gateway.issuer and claims["exp"] - claims["iat"] <= 300
    assert "act" in claims, claims


def test_the_upstream_never_receives_the_clients_token(gateway, alice):
    _, tokens = alice
    client_token = tokens["access_token"]
    # A client trying to smuggle identity headers and its token by other names.
    r = mcp_post(gateway.mcp_url, client_token, INITIALIZE)
    assert r.status_code == 200, r.text
    before = len(gateway.upstream.requests())
    r = httpx.post(gateway.mcp_url, headers={
        "Authorization": f"Bearer {client_token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25",
        "Mcp-Session-Id": r.headers["mcp-session-id"], "X-Gatehouse-Subject": "someone-else",
        "X-Gatehouse-Username": "root", "Cookie": f"token={client_token}"},
        json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, timeout=15)
    assert r.status_code == 200, r.text
    received = gateway.upstream.requests()
    assert len(received) > before
    for request in received:
        for name, value in request["headers"].items():
            assert client_token not in value, f"the client's token reached the upstream in {name}"
        assert "cookie" not in request["headers"]
    smuggled = received[-1]["headers"]
    assert smuggled["x-gatehouse-subject"] != "someone-else" and smuggled["x-gatehouse-username"] != "root"
    assert smuggled["authorization"].startswith("Bearer ")


def test_progress_and_log_messages_arrive_while_the_slow_tool_runs(gateway, alice):
    _, tokens = alice
    seen: list[tuple[float, float]] = []
    logs: list[tuple[float, str]] = []

    async def progress(value, total, message):
        seen.append((time.monotonic(), value))

    async def log(params):
        logs.append((time.monotonic(), str(params.data)))

    async def calls(session):
        started = time.monotonic()
        result = await session.call_tool("slow", {"steps": 4, "delay": 0.5}, progress_callback=progress)
        return started, time.monotonic(), result

    _, (started, finished, result) = anyio.run(
        lambda: sdk_session_with_token(gateway.mcp_url, tokens["access_token"], calls, logging_callback=log))
    assert not result.is_error and text_of(result) == "done after 4 steps"
    assert [value for _, value in seen] == [1, 2, 3, 4]
    assert [text for _, text in logs] == [f"slow step {n}" for n in range(1, 5)]
    # The first of each arrived while the tool still had ~1.5 s to go: streamed, not buffered.
    assert seen[0][0] - started < 1.0 and finished - seen[0][0] > 1.2, (started, seen, finished)
    assert finished - logs[0][0] > 1.2, (started, logs, finished)


def test_a_server_request_during_a_tool_reaches_the_client_and_its_answer_the_upstream(gateway, alice):
    _, tokens = alice
    asked: list[str] = []

    async def elicit(context, params):
        import mcp_types
        asked.append(params.message)
        return mcp_types.ElicitResult(action="accept", content={"confirm": True})

    async def calls(session):
        return await session.call_tool("confirm", {"question": "Delete the CRM?"})

    _, result = anyio.run(lambda: sdk_session_with_token(gateway.mcp_url, tokens["access_token"], calls,
                                               elicitation_callback=elicit))
    assert asked == ["Delete the CRM?"]
    assert not result.is_error and text_of(result) == "accept:True", text_of(result)


def test_a_token_for_another_resource_is_refused(gateway):
    username, password = gateway.create_user()
    notes = token_for(gateway, gateway.origin + "/mcp/notes", username, password)
    before = len(gateway.upstream.requests())
    r = mcp_post(gateway.mcp_url, notes["access_token"], INITIALIZE)
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    assert len(gateway.upstream.requests()) == before, "a refused request reached the upstream"


def test_a_session_is_bound_to_the_user_who_created_it(gateway, alice):
    _, tokens = alice
    username, password = gateway.create_user()
    bob = token_for(gateway, gateway.mcp_url, username, password)
    r = mcp_post(gateway.mcp_url, tokens["access_token"], INITIALIZE)
    session = r.headers["mcp-session-id"]
    upstream_id = session.rsplit(".", 1)[0]
    ping = {"jsonrpc": "2.0", "id": 5, "method": "ping"}
    assert mcp_post(gateway.mcp_url, tokens["access_token"], ping, session).status_code == 200
    stolen = mcp_post(gateway.mcp_url, bob["access_token"], ping, session)
    assert stolen.status_code == 404 and stolen.json()["error"]["message"] == "Session not found"
    # Nor the upstream's own id, stripped of the MAC.
    assert mcp_post(gateway.mcp_url, bob["access_token"], ping, upstream_id).status_code == 404
    assert mcp_post(gateway.mcp_url, tokens["access_token"], ping, session).status_code == 200


def test_twenty_concurrent_sessions(gateway, alice):
    _, tokens = alice
    results: dict[int, str] = {}

    async def one(n: int):
        async def calls(session):
            return await session.call_tool("echo", {"text": f"session {n}"})
        _, result = await sdk_session_with_token(gateway.mcp_url, tokens["access_token"], calls)
        results[n] = text_of(result)

    async def all_of_them():
        async with anyio.create_task_group() as group:
            for n in range(20):
                group.start_soon(one, n)

    started = time.monotonic()
    anyio.run(all_of_them)
    assert results == {n: f"session {n}" for n in range(20)}
    assert time.monotonic() - started < 60


def test_an_upstream_that_is_down_is_503_quickly(gateway):
    username, password = gateway.create_user()
    down = token_for(gateway, gateway.origin + "/mcp/down", username, password)
    started = time.monotonic()
    r = mcp_post(gateway.origin + "/mcp/down", down["access_token"], INITIALIZE, timeout=10)
    elapsed = time.monotonic() - started
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == -32000 and r.json()["id"] is None
    assert elapsed < 2, f"503 took {elapsed:.2f}s"


def test_the_upstream_stopping_mid_deployment_is_503_then_recovers(gateway, alice):
    _, tokens = alice
    gateway.upstream.stop()
    try:
        started = time.monotonic()
        r = mcp_post(gateway.mcp_url, tokens["access_token"], INITIALIZE, timeout=10)
        assert r.status_code == 503 and time.monotonic() - started < 2, r.text
    finally:
        gateway.upstream.start()
    assert mcp_post(gateway.mcp_url, tokens["access_token"], INITIALIZE).status_code == 200


# ---------------------------------------------------------------- two replicas, no stickiness
NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format sessions '$upstream_addr|$request_method|$status|$http_mcp_session_id';
    access_log {tmp}/access.log sessions;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    upstream gatehouse_resource {{
        server 127.0.0.1:{rs1} max_fails=0;
        server 127.0.0.1:{rs2} max_fails=0;
    }}
    server {{
        listen 127.0.0.1:{front};
        location / {{
            proxy_pass http://gatehouse_resource;
            proxy_http_version 1.1;
            proxy_next_upstream off;
            proxy_buffering off;
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
        }}
    }}
}}
"""
AS2_PORT, RS1_PORT, RS2_PORT, FRONT_PORT, UPSTREAM2_PORT = 18220, 18221, 18222, 18223, 18224


@pytest.fixture(scope="module")
def replicas(gateway, logdir):
    """A second deployment whose public MCP origin is nginx, round-robin over two ResourceServers
    (sharing the database and the ResourceServer client of the first), with its own upstream."""
    assert shutil.which("nginx"), "nginx is required (apt-get install -y nginx-light; scripts/test.sh does this)"
    tmp = tempfile.mkdtemp(prefix="gw-http-replicas-", dir=logdir)
    os.chmod(tmp, 0o755)  # nginx's worker runs as an unprivileged user when started as root
    issuer, origin = f"http://127.0.0.1:{AS2_PORT}", f"http://127.0.0.1:{FRONT_PORT}"
    upstream = Upstream(tmp, issuer, UPSTREAM2_PORT)
    config = os.path.join(tmp, "gatehouse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(upstream=upstream.url, down_port=DOWN_PORT))
    env = dict(gateway.env, GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=origin + "/mcp/notes",
               GATEHOUSE_AUTH_PORT=str(AS2_PORT), GATEHOUSE_CONFIG=config)
    conf = os.path.join(tmp, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(tmp=tmp, rs1=RS1_PORT, rs2=RS2_PORT, front=FRONT_PORT))
    d = Deployment(issuer, origin + "/mcp/crm", env)
    d.origin, d.upstream, d.tmp = origin, upstream, tmp
    nginx = None
    try:
        upstream.start()
        d.services.append(start("gw-replica-auth", ["AuthServer", "serve"], env, AS2_PORT, tmp))
        for i, port in enumerate([RS1_PORT, RS2_PORT], 1):
            d.services.append(start(f"gw-replica-resource{i}", ["ResourceServer", "serve"],
                                    dict(env, GATEHOUSE_RS_PORT=str(port)), port, tmp))
        nginx = subprocess.Popen(["nginx", "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "error.log"), "-g", "daemon off;"],
                                 stdout=open(os.path.join(tmp, "nginx.out"), "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while True:
            assert nginx.poll() is None, open(os.path.join(tmp, "nginx.out")).read()
            try:
                if httpx.get(origin + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "nginx did not come up in 15 s"
            time.sleep(0.1)
        yield d
    finally:
        if nginx and nginx.poll() is None:
            nginx.send_signal(signal.SIGTERM)
            nginx.wait(timeout=15)
        codes = d.stop()
        upstream.stop()
    assert all(code == 0 for code in codes.values()), codes


def test_sessions_work_across_two_replicas_without_stickiness(replicas):
    d = replicas
    username, password = d.create_user()
    tokens = token_for(d, d.mcp_url, username, password)

    async def calls(session):
        echoes = [text_of(await session.call_tool("echo", {"text": f"call {n}"})) for n in range(6)]
        who = json.loads(text_of(await session.call_tool("whoami", {})))
        return echoes, who

    _, (echoes, who) = anyio.run(sdk_session_with_token, d.mcp_url, tokens["access_token"], calls)
    assert echoes == [f"call {n}" for n in range(6)]
    assert who["token"]["verified"] and who["headers"]["x-gatehouse-username"] == username
    # nginx's log: the one session's requests were answered by both replicas.
    with open(os.path.join(d.tmp, "access.log")) as f:
        rows = [line.rstrip("\n").split("|") for line in f]
    in_session = [row for row in rows if row[3] not in ("", "-") and row[1] == "POST"]
    assert len({row[3] for row in in_session}) == 1, in_session
    assert {row[0] for row in in_session} == {f"127.0.0.1:{RS1_PORT}", f"127.0.0.1:{RS2_PORT}"}, in_session
    assert all(row[2] in ("200", "202") for row in in_session), in_session


def test_a_read_only_token_is_refused_on_a_write_tool_before_the_upstream(gateway):
    username, password = gateway.create_user()
    reader = token_for(gateway, gateway.mcp_url, username, password, scope="crm:read")
    assert reader["scope"].split() == ["crm:read"]
    before = len(gateway.upstream.requests())
    call = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "write_note", "arguments": {"text": "x"}}}
    r = mcp_post(gateway.mcp_url, reader["access_token"], call)
    assert r.status_code == 403
    challenge = r.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge and "crm:write" in challenge, challenge
    assert len(gateway.upstream.requests()) == before, "a refused call reached the upstream"
    # The same token may call a read tool (in a session: this upstream is stateful).
    session = mcp_post(gateway.mcp_url, reader["access_token"], INITIALIZE).headers["mcp-session-id"]
    echo = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "ok"}}}
    r = mcp_post(gateway.mcp_url, reader["access_token"], echo, session)
    assert r.status_code == 200 and '"text":"ok"' in r.text.replace(" ", ""), r.text
