"""Scenario 1, short: PostgreSQL restarts under load (registrations, refreshes and MCP calls).

The bar (issue 14): every grant answered 200 stays valid afterwards and nothing answered 200 was
lost; during the outage the answers are 503 with `Retry-After` (never a 500, never a hang past
the database timeout); full service within 5 s of PostgreSQL being back, with no process
restarted.
"""
from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from chaos import Tally, report, stack_on_private_postgres
from gatehouse import tokens_for

DATABASE_TIMEOUT = 5          # DATABASE_TIMEOUT_SECONDS given to both services
WARM_UP, OUTAGE, AFTER = 4.0, 4.0, 8.0
FAMILIES, REGISTRARS, CALLERS = 8, 2, 2
REDIRECT = "http://127.0.0.1:9/callback"


@pytest.fixture
def stack(logdir):
    with stack_on_private_postgres("restart", logdir, DATABASE_TIMEOUT_SECONDS=str(DATABASE_TIMEOUT),
                                   DATABASE_MAX_CONNECTIONS="8") as pair:
        yield pair


@pytest.mark.short
def test_postgres_restart_under_load(stack):
    pg, d = stack
    username, password = d.create_user()
    families = [tokens_for(d.issuer, d.mcp_url, username, password, REDIRECT, client_name=f"chaos-{i}")
                for i in range(FAMILIES)]
    access_token = families[0]["access_token"]
    tally = Tally()
    registered: list[str] = []
    latest = {i: f["refresh_token"] for i, f in enumerate(families)}
    lost: list[str] = []
    timeline: dict[str, float] = {}
    last_ok = tally.last_ok

    timed = tally.timed

    async def registrar(http: httpx.AsyncClient, deadline: float):
        n = 0
        while time.monotonic() < deadline:
            n += 1
            r = await timed("register", lambda: http.post(d.issuer + "/register", json={
                "client_name": f"chaos-reg-{n}", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
            if r is not None and r.status_code == 201:
                registered.append(r.json()["client_id"])
            await asyncio.sleep(0.05 if r is not None and r.status_code < 300 else 0.2)

    async def refresher(http: httpx.AsyncClient, i: int, deadline: float):
        client_id = families[i]["client_id"]
        while time.monotonic() < deadline:
            r = await timed("refresh", lambda: http.post(d.issuer + "/token", data={
                "grant_type": "refresh_token", "refresh_token": latest[i], "client_id": client_id}))
            if r is not None and r.status_code == 200:
                latest[i] = r.json()["refresh_token"]
            elif r is not None and r.status_code == 400:
                lost.append(f"family {i}: {r.text[:200]}")
                return
            # A well-behaved client retries a 503 with the same token (the grace window covers a
            # rotation whose answer was lost with the connection).
            await asyncio.sleep(0.05 if r is not None and r.status_code < 300 else 0.2)

    async def caller(http: httpx.AsyncClient, deadline: float):
        while time.monotonic() < deadline:
            r = await timed("mcp", lambda: http.post(d.mcp_url, headers={
                "Authorization": f"Bearer {access_token}", "Accept": "application/json, text/event-stream",
                "MCP-Protocol-Version": "2025-06-18"}, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"}))
            await asyncio.sleep(0.05 if r is not None and r.status_code < 300 else 0.2)

    async def chaos():
        await asyncio.sleep(WARM_UP)
        timeline["stop"] = time.monotonic()
        await asyncio.to_thread(pg.stop)
        timeline["stopped"] = time.monotonic()
        await asyncio.sleep(OUTAGE)
        await asyncio.to_thread(pg.start)
        timeline["back"] = time.monotonic()
        # Full service: every kind of request has been answered successfully since PostgreSQL came back.
        while time.monotonic() < timeline["back"] + AFTER:
            if all(last_ok.get(kind, 0) > timeline["back"] for kind in ("register", "refresh", "mcp")):
                timeline["recovered"] = max(last_ok[k] for k in ("register", "refresh", "mcp"))
                break
            await asyncio.sleep(0.05)

    async def main():
        deadline = time.monotonic() + WARM_UP + OUTAGE + AFTER + 10
        async with httpx.AsyncClient(timeout=DATABASE_TIMEOUT * 3) as http:
            load = [registrar(http, deadline) for _ in range(REGISTRARS)]
            load += [refresher(http, i, deadline) for i in range(FAMILIES)]
            load += [caller(http, deadline) for _ in range(CALLERS)]
            tasks = [asyncio.create_task(t) for t in load]
            await chaos()
            await asyncio.sleep(2)   # a little steady service after recovery
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    # No database call is left hanging (one that ignored its cancellation once held its request,
    # and the graceful shutdown, forever): the pool's in-flight gauge returns to zero.
    in_flight = None
    for _ in range(DATABASE_TIMEOUT * 4):
        metrics = httpx.get(d.issuer + "/metrics", timeout=5).text
        in_flight = next(float(line.split()[-1]) for line in metrics.splitlines()
                         if line.startswith("gatehouse_db_calls_in_flight"))
        if in_flight == 0:
            break
        time.sleep(0.5)
    processes_alive = all(s.proc.poll() is None for s in d.services)

    # Afterwards: every client answered 201 exists, and every family's newest token still refreshes.
    ids = ",".join("'" + c + "'" for c in registered) or "''"
    stored = int(pg.psql(f"SELECT count(*) FROM clients WHERE client_id IN ({ids}) AND deleted_at IS NULL"))
    refreshed_after = 0
    with httpx.Client(timeout=10) as http:
        for i, f in enumerate(families):
            r = http.post(d.issuer + "/token", data={"grant_type": "refresh_token", "refresh_token": latest[i],
                                                      "client_id": f["client_id"]})
            if r.status_code == 200:
                refreshed_after += 1
            else:
                lost.append(f"family {i} after: {r.status_code} {r.text[:200]}")

    recovery = timeline.get("recovered", float("inf")) - timeline["back"]
    report("postgres-restart", answers=tally.counts, slowest_seconds={k: round(v, 2) for k, v in tally.slowest.items()},
           outage_seconds=round(timeline["back"] - timeline["stop"], 2), recovery_seconds=round(recovery, 2),
           db_calls_in_flight_after=in_flight, registered=len(registered), registered_stored=stored, families=FAMILIES, families_alive_after=refreshed_after)
    assert processes_alive, "a service exited during the outage"
    assert in_flight == 0, f"{in_flight} database calls still in flight after the load ended"
    assert not tally.bad, f"answers other than 2xx/503 (or no answer): {tally.bad[:10]}"
    assert not tally.missing_retry_after, f"503 without Retry-After: {tally.missing_retry_after[:5]}"
    assert max(tally.slowest.values()) <= DATABASE_TIMEOUT + 2, f"an answer took longer than the database timeout: {tally.slowest}"
    assert not lost, f"grants answered 200 were lost: {lost}"
    assert stored == len(registered), f"{len(registered) - stored} registrations answered 201 are not stored"
    # The outage was felt: answers of 503, or requests held until PostgreSQL was back.
    unavailable = sum(n for key, n in tally.counts.items() if key.endswith(":503"))
    assert unavailable > 0 or max(tally.slowest.values()) >= 2, "the outage was not noticed"
    assert recovery <= 5, f"full service came back {recovery:.1f} s after PostgreSQL, not within 5 s"
