"""The stdio rows of `make bench`: a release ResourceServer with a stdio resource (the MCP Python
SDK server of the tests, one process per user), driven over HTTP with real access tokens.

Reports, as JSON on stdout:
  first_call_ms       a new user's first tools/call (process start + MCP handshake), median over users
  steady_calls_per_s  one user's calls, sequentially, after the first
  concurrent_calls_per_s  the same user's calls from 8 concurrent callers
  direct_calls_per_s  the same server driven directly over its pipes (no gateway), sequentially
  rss_per_process_kib the resident memory of an idle per-user process (VmRSS), median
  rss_per_session_bytes  the ResourceServer's resident growth per idle MCP session, over SESSIONS sessions

Usage: python bench/stdio.py URL RS_PID TOKENS_JSON DURATION PYTHON SCRIPT
TOKENS_JSON is a list of access tokens, one per user (each user has its own process).
"""
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time

import httpx

url, rs_pid, tokens_file, duration, python, script = sys.argv[1:7]
duration = float(duration)
tokens = json.load(open(tokens_file))
SESSIONS = 1000
HEADERS = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
           "MCP-Protocol-Version": "2025-06-18"}
CALL = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "echo", "arguments": {"text": "x"}}}
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def call(client: httpx.Client, token: str) -> None:
    r = client.post(url, json=CALL, headers={**HEADERS, "Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and '"isError":true' not in r.text, (r.status_code, r.text[:300])


async def concurrent(token: str, callers: int) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        count, deadline = 0, time.monotonic() + duration

        async def loop():
            nonlocal count
            while time.monotonic() < deadline:
                r = await client.post(url, json=CALL, headers={**HEADERS, "Authorization": f"Bearer {token}"})
                assert r.status_code == 200, (r.status_code, r.text[:300])
                count += 1
        start = time.monotonic()
        await asyncio.gather(*(loop() for _ in range(callers)))
        return count / (time.monotonic() - start)


def direct() -> float:
    """The same server over its own pipes, no gateway: newline-delimited JSON-RPC (MCP stdio)."""
    child = subprocess.Popen([python, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "GATEHOUSE_SUBJECT": "direct", "GATEHOUSE_USERNAME": "direct"})
    def rpc(message):
        child.stdin.write(json.dumps(message) + "\n"); child.stdin.flush()
        while True:
            reply = json.loads(child.stdout.readline())
            if reply.get("id") == message.get("id"):
                return reply
    rpc(INIT)
    child.stdin.write(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}) + "\n")
    count, start = 0, time.monotonic()
    while time.monotonic() - start < duration:
        rpc({**CALL, "id": count + 2}); count += 1
    rate = count / (time.monotonic() - start)
    child.stdin.close(); child.wait(timeout=10)
    return rate


def main() -> None:
    pid = int(rs_pid)
    with httpx.Client(timeout=60) as client:
        firsts = []
        for token in tokens:
            start = time.monotonic(); call(client, token); firsts.append((time.monotonic() - start) * 1000)
        token = tokens[0]
        count, start = 0, time.monotonic()
        while time.monotonic() - start < duration:
            call(client, token); count += 1
        steady = count / (time.monotonic() - start)
    parallel = asyncio.run(concurrent(token, 8))
    time.sleep(1)
    per_process = [rss_kib(p) for p in children(pid)]
    before = rss_kib(pid)
    with httpx.Client(timeout=30) as client:
        for i in range(SESSIONS):
            r = client.post(url, json={**INIT, "id": i}, headers={**HEADERS, "Authorization": f"Bearer {tokens[i % len(tokens)]}"})
            assert r.status_code == 200 and r.headers.get("mcp-session-id"), (r.status_code, r.text[:200])
    time.sleep(1)
    after = rss_kib(pid)
    print(json.dumps({
        "users": len(tokens), "first_call_ms": round(statistics.median(firsts), 1),
        "first_call_ms_range": [round(min(firsts), 1), round(max(firsts), 1)],
        "steady_calls_per_s": round(steady, 1), "concurrent_calls_per_s": round(parallel, 1),
        "direct_calls_per_s": round(direct(), 1),
        "rss_per_process_kib": int(statistics.median(per_process)) if per_process else 0,
        "processes": len(per_process),
        "rss_per_session_bytes": max(0, (after - before) * 1024 // SESSIONS), "sessions": SESSIONS,
    }))


if __name__ == "__main__":
    main()
