"""Issue 13: "each rate limit returns 429 with `Retry-After` under load from two AuthServer
replicas and recovers".

Two AuthServer replicas on one database, hit alternately and concurrently (this test plays the
trusted proxy: GATEHOUSE_TRUSTED_PROXIES=127.0.0.1/32 and an X-Forwarded-For of its choosing, so
each run registers from source networks of its own). With low limits, the number of answers that
are not 429 equals the limit exactly, though each replica alone would have let that many through:
the counting is shared. After the per-minute window, token and authorization requests succeed
again. The registration window is an hour: its recovery is covered by the Swift test with an
injected clock (RateLimitTests.registrationLimit); here another network still registers.
"""
from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time

import httpx

from gatehouse import Deployment, base_env, free_port, sign_in, start

TOKEN_LIMIT, AUTHORIZE_LIMIT, REGISTRATION_LIMIT = 10, 30, 10
REDIRECT = "http://127.0.0.1:53998/callback"


def _network() -> str:
    """An address in a /56 of 2001:db8::/32 no earlier run used (24 random bits)."""
    bits = secrets.randbits(24)
    return f"2001:db8:{bits >> 8:x}:{(bits & 0xff) << 8:x}::{secrets.randbits(16):x}"


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    return verifier, base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _register(url: str, address: str, name: str) -> str:
    r = httpx.post(url + "/register", headers={"X-Forwarded-For": address}, json={
        "client_name": name, "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none",
        "grant_types": ["authorization_code", "refresh_token"]})
    assert r.status_code == 201, r.text
    return r.json()["client_id"]


def _authorize_url(issuer: str, client_id: str, resource: str, challenge: str) -> str:
    return str(httpx.URL(issuer + "/authorize", params={
        "response_type": "code", "client_id": client_id, "redirect_uri": REDIRECT, "state": "s",
        "code_challenge": challenge, "code_challenge_method": "S256", "resource": resource}))


def _seconds_left_in_minute() -> float:
    return 60 - time.time() % 60


def _metric(url: str, series: str) -> float:
    """One series of a replica's Prometheus text (0 when absent)."""
    text = httpx.get(url + "/metrics").text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series + " "))


def _expect_limited(r: httpx.Response) -> None:
    assert r.status_code == 429, r.text
    assert r.json()["error"] == "temporarily_unavailable", r.text
    assert 1 <= int(r.headers["retry-after"]) <= 3600, r.headers
    assert r.headers["content-type"] == "application/json"


def test_each_limit_holds_across_two_replicas_and_recovers(logdir):
    t0 = time.time()
    ports = [free_port(), free_port()]
    issuer, resource = f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{free_port()}/mcp"
    replicas = [f"http://127.0.0.1:{p}" for p in ports]
    env = base_env(GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=resource,
                   GATEHOUSE_TRUSTED_PROXIES="127.0.0.1/32,::1/128",
                   GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE=str(TOKEN_LIMIT),
                   GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE=str(AUTHORIZE_LIMIT),
                   GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR=str(REGISTRATION_LIMIT))
    services = []
    try:
        for i, port in enumerate(ports, 1):
            services.append(start(f"limits-auth{i}", ["AuthServer", "serve"], dict(env, GATEHOUSE_AUTH_PORT=str(port)),
                                  port, logdir))
        username, password = Deployment(issuer, resource, env, services).create_user()
        setup = _network()
        token_client = _register(replicas[0], setup, "rate-limit e2e (token)")
        authorize_client = _register(replicas[1], setup, "rate-limit e2e (authorize)")

        # Codes for the token load: one sign-in, then each /authorize answers with a code at once
        # (session and remembered consent). Each code exchange would succeed, so each counts.
        codes = []
        with httpx.Client(follow_redirects=False, timeout=15) as browser:
            for _ in range(TOKEN_LIMIT + 15):
                verifier, challenge = _pkce()
                login = sign_in(_authorize_url(issuer, token_client, resource, challenge), REDIRECT, username, password,
                                client=browser)
                assert login.code, (login.last_status, login.pages, login.last_body[:300])
                codes.append((login.code, verifier))
        # The load must fall in one per-minute window.
        if _seconds_left_in_minute() < 20:
            time.sleep(_seconds_left_in_minute() + 0.3)

        load_network = _network()
        token_requests = [("POST", "/token", {"data": {
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT, "client_id": token_client,
            "code_verifier": verifier, "resource": resource}}) for code, verifier in codes]
        authorize_url = _authorize_url("", authorize_client, resource, _pkce()[1])
        authorize_requests = [("GET", authorize_url, {}) for _ in range(AUTHORIZE_LIMIT * 2)]
        registration_requests = [("POST", "/register", {"headers": {"X-Forwarded-For": load_network}, "json": {
            "client_name": "rate-limit e2e (load)", "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}})
            for _ in range(REGISTRATION_LIMIT * 4)]

        async def load():
            limits = httpx.Limits(max_connections=32)
            async with httpx.AsyncClient(timeout=30, limits=limits) as http:
                async def one(i, method, path, kwargs):
                    return await http.request(method, replicas[i % 2] + path, **kwargs)
                groups = [token_requests, authorize_requests, registration_requests]
                tasks = [[one(i, *request) for i, request in enumerate(group)] for group in groups]
                results = await asyncio.gather(*(asyncio.gather(*t) for t in tasks))
                return results

        started = time.time()
        window = int(started // 60)
        token_answers, authorize_answers, registration_answers = asyncio.run(load())
        elapsed = time.time() - started
        assert int(time.time() // 60) == window, "the load straddled a window boundary; rerun"

        figures = {}
        for name, answers, ok_status, limit in [("token", token_answers, 200, TOKEN_LIMIT),
                                                ("authorize", authorize_answers, 200, AUTHORIZE_LIMIT),
                                                ("registration", registration_answers, 201, REGISTRATION_LIMIT)]:
            limited = [r for r in answers if r.status_code == 429]
            others = [r for r in answers if r.status_code != 429]
            figures[name] = (len(answers), len(others), len(limited))
            assert all(r.status_code == ok_status for r in others), [(r.status_code, r.text[:200]) for r in others]
            # Shared counting: across both replicas together, exactly the limit got through.
            assert len(others) == limit, (name, len(others), limit)
            for r in limited:
                _expect_limited(r)
        # gatehouse_rate_limited_total{limit}: every 429, summed over both replicas' /metrics.
        counted = {name: sum(_metric(url, f'gatehouse_rate_limited_total{{limit="{name}"}}') for url in replicas)
                   for name in figures}
        assert counted == {name: limited for name, (_, _, limited) in figures.items()}, counted
        print(f"\nrate limits under load from two replicas ({elapsed:.2f} s):")
        for name, (total, ok, limited) in figures.items():
            print(f"  {name:12} requests={total:3}  not-429={ok:3}  429={limited:3}")

        # Recovery: the next per-minute window admits token and authorization requests again.
        time.sleep(_seconds_left_in_minute() + 0.5)
        assert httpx.get(replicas[1] + authorize_url).status_code == 200
        with httpx.Client(follow_redirects=False, timeout=15) as browser:
            verifier, challenge = _pkce()
            login = sign_in(_authorize_url(issuer, token_client, resource, challenge), REDIRECT, username, password,
                            client=browser)
        fresh = httpx.post(replicas[1] + "/token", data={
            "grant_type": "authorization_code", "code": login.code, "redirect_uri": REDIRECT, "client_id": token_client,
            "code_verifier": verifier, "resource": resource})
        assert fresh.status_code == 200, fresh.text
        refreshed = httpx.post(replicas[0] + "/token", data={
            "grant_type": "refresh_token", "refresh_token": fresh.json()["refresh_token"], "client_id": token_client})
        assert refreshed.status_code == 200, refreshed.text
        # Registrations: the load's network stays limited for the hour; another network registers.
        _expect_limited(httpx.post(replicas[0] + "/register", headers={"X-Forwarded-For": load_network}, json={
            "redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}))
        _register(replicas[1], _network(), "rate-limit e2e (other network)")
        print(f"  recovered after the window; total {time.time() - t0:.1f} s")
    finally:
        exits = {s.name: s.stop() for s in services}
    assert all(code == 0 for code in exits.values()), f"replicas did not shut down cleanly on SIGTERM: {exits}"
