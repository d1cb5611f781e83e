"""Scenario 7: soak. Mixed load (refreshes, MCP tools/list and tools/call, registrations) for
CHAOS_SOAK_SECONDS (600 in `make chaos`), sampling both services' memory and file descriptors.

The bar (issue 14): RSS growth under 10 % after warm-up, no file-descriptor or connection-pool
leak, p99 stable (first minute against last). Not short: only in `make chaos`.
"""
from __future__ import annotations

import asyncio
import os
import time

import httpx
import pytest

from chaos import open_fds, percentile, report, rss_kib, stack_on_private_postgres
from gatehouse import tokens_for

SECONDS = int(os.environ.get("GATEHOUSE_CHAOS_SOAK_SECONDS", "600"))
WARM_UP = min(60, SECONDS // 5)
WINDOW = min(60, SECONDS // 5)          # "first minute against last"
WORKERS = 8
REDIRECT = "http://127.0.0.1:9/callback"




@pytest.fixture
def stack(logdir):
    with stack_on_private_postgres("soak", logdir) as pair:
        yield pair


def test_soak(stack):
    pg, d = stack
    username, password = d.create_user()
    families = [tokens_for(d.issuer, d.mcp_url, username, password, REDIRECT, client_name=f"soak-{i}") for i in range(WORKERS)]
    pids = {s.name: s.proc.pid for s in d.services}
    samples: list[dict] = []
    latencies: list[tuple[float, str, float]] = []    # (moment, kind, seconds)
    errors: list[str] = []
    start = time.monotonic()

    async def worker(http: httpx.AsyncClient, i: int, deadline: float):
        refresh, client_id = families[i]["refresh_token"], families[i]["client_id"]
        access = families[i]["access_token"]
        n = 0
        headers = lambda: {"Authorization": f"Bearer {access}", "Accept": "application/json, text/event-stream",  # noqa: E731
                           "MCP-Protocol-Version": "2025-06-18"}
        while time.monotonic() < deadline:
            n += 1
            kind = ("refresh" if n % 10 == 0 else "register" if n % 50 == 1 else "call" if n % 3 == 0 else "list")
            t = time.monotonic()
            if kind == "refresh":
                r = await http.post(d.issuer + "/token", data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id})
                if r.status_code == 200:
                    refresh, access = r.json()["refresh_token"], r.json()["access_token"]
            elif kind == "register":
                r = await http.post(d.issuer + "/register", json={"client_name": f"soak-reg-{i}-{n}", "redirect_uris": [REDIRECT],
                                                                   "token_endpoint_auth_method": "none"})
            elif kind == "call":
                r = await http.post(d.mcp_url, headers=headers(), json={"jsonrpc": "2.0", "id": n, "method": "tools/call",
                                                                       "params": {"name": "whoami", "arguments": {}}})
            else:
                r = await http.post(d.mcp_url, headers=headers(), json={"jsonrpc": "2.0", "id": n, "method": "tools/list"})
            latencies.append((t - start, kind, time.monotonic() - t))
            if r.status_code >= 300:
                errors.append(f"{kind}: {r.status_code} {r.text[:160]}")

    async def sampler(deadline: float):
        while time.monotonic() < deadline:
            samples.append({"t": time.monotonic() - start, **{f"{name}_rss": rss_kib(pid) for name, pid in pids.items()},
                            **{f"{name}_fds": open_fds(pid) for name, pid in pids.items()}})
            await asyncio.sleep(5)

    async def main():
        deadline = time.monotonic() + SECONDS
        async with httpx.AsyncClient(timeout=30) as http:
            await asyncio.gather(sampler(deadline), *(worker(http, i, deadline) for i in range(WORKERS)))

    asyncio.run(main())
    time.sleep(1)
    in_flight = next(float(line.split()[-1]) for line in httpx.get(d.issuer + "/metrics").text.splitlines()
                     if line.startswith("gatehouse_db_calls_in_flight"))
    # The validated-token cache's size (swept every 15 s of tokens expired or idle for 60 s): it should
    # follow the tokens used in the last minute, not every token the soak minted.
    rs_metrics = httpx.get(d.mcp_url.rsplit("/mcp", 1)[0] + "/metrics").text.splitlines()
    cached_tokens = next((float(line.split()[-1]) for line in rs_metrics
                          if line.startswith('gatehouse_rs_validated_tokens_cached{resource="/mcp"}')), -1)
    after_warm_up = [s for s in samples if s["t"] >= WARM_UP]
    first, last = after_warm_up[0], after_warm_up[-1]
    growth = {name: round(100 * (last[f"{name}_rss"] - first[f"{name}_rss"]) / first[f"{name}_rss"], 1) for name in pids}
    fd_growth = {name: last[f"{name}_fds"] - first[f"{name}_fds"] for name in pids}
    early = [s for t, _, s in latencies if WARM_UP <= t < WARM_UP + WINDOW]
    late = [s for t, _, s in latencies if t >= SECONDS - WINDOW]
    p99_early, p99_late = percentile(early, 99) * 1000, percentile(late, 99) * 1000
    report("soak", seconds=SECONDS, requests=len(latencies), per_second=round(len(latencies) / SECONDS),
           errors=len(errors), rss_mib={name: [first[f"{name}_rss"] // 1024, last[f"{name}_rss"] // 1024] for name in pids},
           rss_growth_percent=growth, fd_growth=fd_growth, db_calls_in_flight_after=in_flight, validated_tokens_cached=cached_tokens,
           p99_ms={"first_window": round(p99_early, 1), "last_window": round(p99_late, 1)})
    assert not errors, errors[:10]
    assert all(g < 10 for g in growth.values()), f"RSS grew after warm-up: {growth}"
    assert all(g <= 10 for g in fd_growth.values()), f"file descriptors grew: {fd_growth}"
    assert in_flight == 0
    # Stable: the last window's p99 within twice the first's (and a 20 ms floor for a quiet machine).
    assert p99_late <= max(2 * p99_early, 20), f"p99 {p99_early:.1f} ms in the first window, {p99_late:.1f} ms in the last"
