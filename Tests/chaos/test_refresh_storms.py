"""Scenario 5: refresh storms. One token refreshed 100 times at once (a client whose retries
pile up), and many families refreshing at the same moment (every client waking up together).

The bar (issue 14): no 5xx, exactly one live successor per family, no family revoked by a retry
inside the grace window. The short version (in `make test`) uses 200 families; `make chaos`
uses 1,000 (GATEHOUSE_CHAOS_FAMILIES).
"""
from __future__ import annotations

import asyncio
import os
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from chaos import percentile, pkce, report, stack_on_private_postgres
from gatehouse import sign_in

FAMILIES = int(os.environ.get("GATEHOUSE_CHAOS_FAMILIES", "200"))
SAME_TOKEN = 100
# An https redirect: consent is remembered for it (loopback redirects are asked every time), so
# after the first family each new one costs one GET /authorize and one code exchange.
REDIRECT = "https://chaos.example/callback"


@pytest.fixture
def stack(logdir):
    with stack_on_private_postgres("storms", logdir) as pair:
        yield pair


def families_for(d, count: int) -> tuple[str, list[str]]:
    """`count` token families of one client and one person: the first through the login and
    consent pages, the rest through the remembered consent."""
    username, password = d.create_user()
    reg = httpx.post(d.issuer + "/register", json={
        "client_name": "chaos storms", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"})
    assert reg.status_code == 201, reg.text
    client_id = reg.json()["client_id"]
    tokens: list[str] = []
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        for i in range(count):
            verifier, challenge = pkce()
            url = str(httpx.URL(d.issuer + "/authorize", params={
                "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": "s",
                "code_challenge": challenge, "code_challenge_method": "S256", "resource": d.mcp_url}))
            if i == 0:
                code = sign_in(url, REDIRECT, username, password, client=browser).code
            else:
                r = browser.get(url)
                assert r.status_code in (302, 303), (r.status_code, r.text[:300])
                code = parse_qs(urlparse(r.headers["location"]).query)["code"][0]
            r = browser.post(d.issuer + "/token", data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
                "client_id": client_id, "code_verifier": verifier, "resource": d.mcp_url})
            assert r.status_code == 200, r.text
            tokens.append(r.json()["refresh_token"])
    return client_id, tokens


async def refresh_all(issuer: str, client_id: str, tokens: list[str], concurrency: int):
    """Every token refreshed at once (bounded by `concurrency` connections): statuses, answers, latencies."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    start_line = asyncio.Event()
    latencies: list[float] = []

    async def one(http: httpx.AsyncClient, token: str):
        await start_line.wait()
        started = time.monotonic()
        r = await http.post(issuer + "/token", data={"grant_type": "refresh_token", "refresh_token": token,
                                                     "client_id": client_id})
        latencies.append(time.monotonic() - started)
        return r.status_code, (r.json().get("refresh_token") if r.status_code == 200 else r.text[:200])

    async with httpx.AsyncClient(timeout=60, limits=limits) as http:
        tasks = [asyncio.create_task(one(http, t)) for t in tokens]
        await asyncio.sleep(0.1)
        started = time.monotonic()
        start_line.set()
        results = await asyncio.gather(*tasks)
        return results, latencies, time.monotonic() - started


def live_successors(pg, client_id: str) -> dict[int, int]:
    """Live (unrotated) refresh tokens per live family of the client, as {count: families}."""
    rows = pg.psql(f"""SELECT n, count(*) FROM (SELECT count(r.token_hash) FILTER (WHERE r.rotated_at IS NULL) AS n
                       FROM token_families f JOIN refresh_tokens r ON r.family_id = f.id
                       WHERE f.client_id = '{client_id}' AND f.revoked_at IS NULL GROUP BY f.id) s GROUP BY n""")
    return {int(n): int(c) for n, c in (line.split("|") for line in rows.splitlines() if line)}


@pytest.mark.short
def test_refresh_storms(stack):
    pg, d = stack
    t0 = time.monotonic()
    client_id, tokens = families_for(d, FAMILIES)
    setup_seconds = time.monotonic() - t0

    # 1. One token, 100 times at once: one rotation, 99 replays inside the grace window, all the same answer.
    same, same_latency, same_seconds = asyncio.run(refresh_all(d.issuer, client_id, [tokens[0]] * SAME_TOKEN, SAME_TOKEN))
    same_statuses = sorted({status for status, _ in same})
    successors = {answer for status, answer in same if status == 200}

    # 2. Every family at once.
    storm, storm_latency, storm_seconds = asyncio.run(refresh_all(d.issuer, client_id, tokens[1:], 100))
    storm_statuses: dict[int, int] = {}
    for status, _ in storm:
        storm_statuses[status] = storm_statuses.get(status, 0) + 1

    revoked = int(pg.psql(f"SELECT count(*) FROM token_families WHERE client_id = '{client_id}' AND revoked_at IS NOT NULL"))
    live = live_successors(pg, client_id)
    # The one successor of the 100-way storm is the live one: it refreshes.
    follow_up = httpx.post(d.issuer + "/token", data={"grant_type": "refresh_token", "refresh_token": next(iter(successors), ""),
                                                       "client_id": client_id}, timeout=30) if successors else None

    report("refresh-storms", families=FAMILIES, setup_seconds=round(setup_seconds, 1),
           same_token={"requests": SAME_TOKEN, "statuses": same_statuses, "distinct_successors": len(successors),
                       "seconds": round(same_seconds, 2), "p99_ms": round(percentile(same_latency, 99) * 1000)},
           all_families={"requests": len(storm), "statuses": storm_statuses, "seconds": round(storm_seconds, 2),
                         "per_second": round(len(storm) / storm_seconds), "p50_ms": round(percentile(storm_latency, 50) * 1000),
                         "p99_ms": round(percentile(storm_latency, 99) * 1000)},
           families_revoked=revoked, live_successors_per_family=live)
    assert same_statuses == [200], f"the 100-way refresh of one token answered {same_statuses}: {[a for s, a in same if s != 200][:3]}"
    assert len(successors) == 1, f"one token refreshed at once produced {len(successors)} different successors"
    assert storm_statuses == {200: FAMILIES - 1}, f"the storm of {FAMILIES - 1} families answered {storm_statuses}"
    assert revoked == 0, f"{revoked} families were revoked by retries inside the grace window"
    assert live == {1: FAMILIES}, f"live successors per family: {live} (want exactly one for each of {FAMILIES})"
    assert follow_up is not None and follow_up.status_code == 200, follow_up.text if follow_up else "no successor"
