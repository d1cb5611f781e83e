"""Scenario 6: gateway faults. An HTTP upstream killed in the middle of a streamed call, an
upstream that accepts connections and never answers, and a stdio server that floods stdout with
garbage.

The bar (issue 14): clean JSON-RPC errors, bounded memory, the next call works. Marked short
(it also runs in `make test`): it pins the error event for a stream that breaks off.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import anyio
import httpx
import pytest

from chaos import NO_RATE_LIMITS, report, rss_kib
from gatehouse import Deployment, base_env, free_port, sdk_session_with_token, start, text_of, tokens_for

E2E = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "e2e")
PYTHON = sys.executable
REDIRECT = "http://127.0.0.1:9/callback"
SILENT_TIMEOUT = 3

CONFIG = """\
resources:
  - path: /mcp/http
    name: HTTP upstream
    scopes: {{tools:use: Use the tools}}
    tools: {{"*": [tools:use]}}
    upstream:
      http:
        url: http://127.0.0.1:{http_port}/mcp
        timeout: 20
  - path: /mcp/silent
    name: Silent upstream
    scopes: {{silent:use: Use the tools}}
    tools: {{"*": [silent:use]}}
    upstream:
      http:
        url: http://127.0.0.1:{silent_port}/mcp
        timeout: {silent_timeout}
  - path: /mcp/stdio
    name: stdio upstream
    scopes: {{stdio:use: Use the tools}}
    tools: {{"*": [stdio:use]}}
    upstream:
      stdio:
        command: [{python}, {script}]
        per_user: true
        max_processes: 4
"""


class HTTPUpstream:
    """The official-SDK HTTP upstream of the e2e tests, as a process this scenario may kill."""

    def __init__(self, port: int, issuer: str, tmp: str) -> None:
        self.port, self.issuer, self.tmp = port, issuer, tmp
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen([PYTHON, os.path.join(E2E, "upstreams", "http_upstream.py"), "--port", str(self.port),
                                      "--record", os.path.join(self.tmp, "record.jsonl"), "--issuer", self.issuer],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the HTTP upstream did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()


class SilentUpstream:
    """Accepts every connection, reads what it is sent, never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.sock.close()



@pytest.fixture
def gateway(logdir):
    tmp = tempfile.mkdtemp(prefix="gatehouse-chaos-gw-")
    as_port, rs_port, http_port = free_port(), free_port(), free_port()
    issuer, origin = f"http://127.0.0.1:{as_port}", f"http://127.0.0.1:{rs_port}"
    silent = SilentUpstream()
    config = os.path.join(tmp, "gatehouse.yaml")
    with open(config, "w") as f:
        f.write(CONFIG.format(http_port=http_port, silent_port=silent.port, silent_timeout=SILENT_TIMEOUT,
                              python=json.dumps(PYTHON), script=json.dumps(os.path.join(E2E, "upstreams", "stdio_upstream.py"))))
    # The resources' origin is GATEHOUSE_MCP_RESOURCE's; their paths come from the file.
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=origin + "/mcp/http", GATEHOUSE_AUTH_PORT=str(as_port),
                   GATEHOUSE_RS_PORT=str(rs_port), GATEHOUSE_CONFIG=config, **NO_RATE_LIMITS)
    upstream = HTTPUpstream(http_port, issuer, tmp)
    upstream.start()
    d = Deployment(issuer, origin + "/mcp/http", env)
    try:
        d.services.append(start("chaos-gw-auth", ["AuthServer", "serve"], env, as_port, logdir))
        d.services.append(start("chaos-gw-resource", ["ResourceServer", "serve"], env, rs_port, logdir))
        d.origin, d.upstream = origin, upstream
        yield d
    finally:
        codes = d.stop()
        upstream.kill()
        silent.close()
    assert all(code == 0 for code in codes.values()), codes


def call(url: str, token: str, tool: str, arguments: dict, seconds: float = 60):
    """One SDK session: `tools/call`; the result, or the error the client raised."""
    async def calls(session):
        return await session.call_tool(tool, arguments)
    try:
        _, result = anyio.run(lambda: sdk_session_with_token(url, token, calls, seconds=seconds))
        return result
    except BaseException as error:  # noqa: BLE001 - the test inspects what the client saw
        return error


def messages(error: BaseException) -> str:
    if isinstance(error, BaseExceptionGroup):
        return " ".join(messages(inner) for inner in error.exceptions)
    return f"{type(error).__name__}: {error}"


@pytest.mark.short
def test_gateway_faults(gateway):
    d = gateway
    username, password = d.create_user()
    tokens = {name: tokens_for(d.issuer, f"{d.origin}/mcp/{name}", username, password, REDIRECT)["access_token"]
              for name in ("http", "silent", "stdio")}
    rs_pid = d.services[1].proc.pid
    figures = {}

    # 1. The HTTP upstream killed while a streamed call runs: the call ends with an error, quickly.
    assert not getattr(call(d.mcp_url, tokens["http"], "echo", {"text": "warm"}), "is_error", True)
    killer = threading.Timer(1.0, d.upstream.kill)
    killer.start()
    started = time.monotonic()
    killed = call(d.mcp_url, tokens["http"], "slow", {"steps": 30, "delay": 0.2})
    figures["killed_mid_stream_seconds"] = round(time.monotonic() - started, 2)
    killer.join()
    figures["killed_mid_stream_outcome"] = (messages(killed) if isinstance(killed, BaseException)
                                            else f"result isError={killed.is_error}: {text_of(killed)[:120]}")
    # A JSON-RPC error for the pending call (the SDK raises MCPError), not a stream that just stops.
    assert "MCPError" in figures["killed_mid_stream_outcome"] and "upstream" in figures["killed_mid_stream_outcome"], figures
    assert figures["killed_mid_stream_seconds"] < 15, "the call did not end when its upstream died"
    down = httpx.post(d.mcp_url, timeout=10, headers={"Authorization": f"Bearer {tokens['http']}",
                      "Accept": "application/json, text/event-stream", "Content-Type": "application/json"},
                      json={"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                          "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "chaos", "version": "1"}}})
    figures["while_down"] = [down.status_code, down.json().get("error", {}).get("code")]
    assert down.status_code == 503 and down.json()["jsonrpc"] == "2.0" and "error" in down.json(), down.text
    d.upstream.start()
    after = call(d.mcp_url, tokens["http"], "echo", {"text": "back"})
    assert not isinstance(after, BaseException) and text_of(after) == "back", after

    # 2. An upstream that never answers: a JSON-RPC error at its timeout, not a hang.
    started = time.monotonic()
    silent = httpx.post(f"{d.origin}/mcp/silent", timeout=SILENT_TIMEOUT * 4, headers={
        "Authorization": f"Bearer {tokens['silent']}", "Accept": "application/json, text/event-stream",
        "Content-Type": "application/json"}, json={"jsonrpc": "2.0", "id": 7, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "chaos", "version": "1"}}})
    figures["silent"] = {"status": silent.status_code, "seconds": round(time.monotonic() - started, 2),
                         "code": silent.json().get("error", {}).get("code")}
    assert silent.status_code == 504 and silent.json()["jsonrpc"] == "2.0" and "error" in silent.json(), silent.text
    assert figures["silent"]["seconds"] < SILENT_TIMEOUT + 3
    assert text_of(call(d.mcp_url, tokens["http"], "echo", {"text": "still fine"})) == "still fine"

    # 3. A stdio server floods stdout with 32 MiB of garbage in one line, three times: the line is
    # dropped at the message-size limit (16 MiB), memory stays bounded, the calls still answer.
    assert text_of(call(f"{d.origin}/mcp/stdio", tokens["stdio"], "echo", {"text": "warm"})) == "warm"
    before = rss_kib(rs_pid)
    floods = [call(f"{d.origin}/mcp/stdio", tokens["stdio"], "flood", {"megabytes": 32}, seconds=120) for _ in range(3)]
    growth = (rss_kib(rs_pid) - before) // 1024
    figures["flood"] = {"calls": 3, "megabytes_each": 32, "rss_growth_mib": growth,
                        "outcomes": [messages(f) if isinstance(f, BaseException) else text_of(f) for f in floods]}
    report("gateway-faults", **figures)
    assert all(not isinstance(f, BaseException) and text_of(f) == "flooded 32 MiB" for f in floods), figures["flood"]
    assert growth < 64, f"the ResourceServer grew by {growth} MiB reading 96 MiB of garbage"
    assert text_of(call(f"{d.origin}/mcp/stdio", tokens["stdio"], "echo", {"text": "after"})) == "after"
