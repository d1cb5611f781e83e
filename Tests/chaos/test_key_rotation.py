"""Scenario 4: key rotation under load, on two replicas of each service.

`keys rotate --immediately` and then `keys retire OLD --immediately` (the compromise procedure)
while refreshes run on both AuthServers and every new access token is used at once at both
ResourceServers. The bar (issue 14): zero validation failures for tokens signed by a published
key; tokens of the retired key refused within seconds. Not short: about a minute, so only in
`make chaos`. Both AuthServers share one issuer URL (the first one's: the ResourceServers fetch
the JWKS there); each client calls a replica's port directly.
"""
from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import time

import httpx
import pytest

from chaos import NO_RATE_LIMITS, private_postgres, report
from gatehouse import BIN, base_env, free_port, start, tokens_for

REDIRECT = "http://127.0.0.1:9/callback"
FAMILIES = 6
WARM_UP, AFTER_ROTATE, AFTER_RETIRE = 12.0, 12.0, 6.0


def kid_of(token: str) -> str:
    header = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


@pytest.fixture
def replicas(logdir):
    pg = private_postgres("rotation")
    as_ports, rs_ports = [free_port(), free_port()], [free_port(), free_port()]
    issuer, resource = f"http://127.0.0.1:{as_ports[0]}", f"http://127.0.0.1:{rs_ports[0]}/mcp"
    env = base_env(DATABASE_URL=pg.url, GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=resource, **NO_RATE_LIMITS)
    services = []
    try:
        for i, port in enumerate(as_ports, 1):
            services.append(start(f"rotation-auth{i}", ["AuthServer", "serve"], dict(env, GATEHOUSE_AUTH_PORT=str(port)), port, logdir))
        for i, port in enumerate(rs_ports, 1):
            services.append(start(f"rotation-resource{i}", ["ResourceServer", "serve"], dict(env, GATEHOUSE_RS_PORT=str(port)), port, logdir))
        yield {"env": env, "issuer": issuer, "resource": resource, "as": [f"http://127.0.0.1:{p}" for p in as_ports],
               "rs": [f"http://127.0.0.1:{p}/mcp" for p in rs_ports], "services": services}
    finally:
        codes = {s.name: s.stop() for s in services}
        pg.remove()
    assert all(code == 0 for code in codes.values()), codes


def admin(env: dict, *args: str) -> str:
    r = subprocess.run([os.path.join(BIN, "AuthServer"), *args], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def test_key_rotation_under_load(replicas):
    env, issuer, resource = replicas["env"], replicas["issuer"], replicas["resource"]
    username = "rotation-" + os.urandom(3).hex()
    password = os.urandom(12).hex()
    r = subprocess.run([os.path.join(BIN, "AuthServer"), "users", "create", username, "--password-stdin"], input=password + "\n",
                       env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    families = [tokens_for(issuer, resource, username, password, REDIRECT, client_name=f"rotation-{i}") for i in range(FAMILIES)]
    old_kid = kid_of(families[0]["access_token"])
    old_tokens = [f["access_token"] for f in families]
    phase = {"name": "warm-up"}
    # (phase, kid, resource server, status) of every use of a freshly minted access token.
    uses: list[tuple[str, str, int, int]] = []
    refresh_failures: list[str] = []

    async def family(http: httpx.AsyncClient, i: int, deadline: float):
        refresh_token, client_id = families[i]["refresh_token"], families[i]["client_id"]
        n = 0
        while time.monotonic() < deadline:
            n += 1
            auth = replicas["as"][n % 2]
            r = await http.post(auth + "/token", data={"grant_type": "refresh_token", "refresh_token": refresh_token,
                                                       "client_id": client_id})
            if r.status_code != 200:
                refresh_failures.append(f"{r.status_code} {r.text[:200]}")
                await asyncio.sleep(0.2)
                continue
            refresh_token, access = r.json()["refresh_token"], r.json()["access_token"]
            kid = kid_of(access)
            for j, rs in enumerate(replicas["rs"]):
                m = await http.post(rs, headers={"Authorization": f"Bearer {access}", "Accept": "application/json, text/event-stream",
                                                 "MCP-Protocol-Version": "2025-06-18"},
                                    json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
                uses.append((phase["name"], kid, j, m.status_code))
            await asyncio.sleep(0.05)

    timeline = {}

    async def operator():
        await asyncio.sleep(WARM_UP)
        phase["name"] = "rotated"
        timeline["rotate"] = time.monotonic()
        out = await asyncio.to_thread(admin, env, "keys", "rotate", "--immediately")
        timeline["new_kid"] = out.split("new signing key ")[1].split()[0]
        await asyncio.sleep(AFTER_ROTATE)
        phase["name"] = "retired"
        await asyncio.to_thread(admin, env, "keys", "retire", old_kid, "--immediately")
        timeline["retire"] = time.monotonic()
        # The retired key's tokens (still unexpired) refused at both resource servers: how fast.
        refused_after = {}
        async with httpx.AsyncClient(timeout=10) as http:
            while len(refused_after) < 2 and time.monotonic() < timeline["retire"] + 10:
                for j, rs in enumerate(replicas["rs"]):
                    if j in refused_after:
                        continue
                    m = await http.post(rs, headers={"Authorization": f"Bearer {old_tokens[0]}", "Accept": "application/json, text/event-stream",
                                                     "MCP-Protocol-Version": "2025-06-18"},
                                        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
                    if m.status_code == 401:
                        refused_after[j] = time.monotonic() - timeline["retire"]
                await asyncio.sleep(0.1)
        timeline["refused_after"] = refused_after
        await asyncio.sleep(AFTER_RETIRE)

    async def main():
        deadline = time.monotonic() + WARM_UP + AFTER_ROTATE + AFTER_RETIRE + 15
        async with httpx.AsyncClient(timeout=15) as http:
            tasks = [asyncio.create_task(family(http, i, deadline)) for i in range(FAMILIES)]
            await operator()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(main())
    new_kid = timeline["new_kid"]
    # A use fails the bar when its token's key was published when it was used: every kid before
    # the retirement, and the new key after it.
    failures = [u for u in uses if u[3] != 200 and not (u[0] == "retired" and u[1] == old_kid)]
    by_phase: dict = {}
    for ph, kid, _, status in uses:
        key = f"{ph}:{'old' if kid == old_kid else 'new' if kid == new_kid else kid}:{status}"
        by_phase[key] = by_phase.get(key, 0) + 1
    # Still unexpired old-key tokens minted by an AuthServer that had not reloaded yet are refused too.
    report("key-rotation", uses=by_phase, refresh_failures=len(refresh_failures),
           retired_refused_after_seconds={str(k): round(v, 2) for k, v in timeline["refused_after"].items()})
    assert not refresh_failures, refresh_failures[:5]
    assert not failures, f"tokens signed by a published key were refused: {failures[:10]}"
    assert any(u[1] == new_kid and u[3] == 200 for u in uses), "no token of the new key was used"
    assert sorted(timeline["refused_after"]) == [0, 1], f"the retired key's tokens were not refused by both: {timeline}"
    assert max(timeline["refused_after"].values()) <= 3, timeline["refused_after"]
