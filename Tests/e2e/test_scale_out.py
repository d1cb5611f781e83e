"""Scale-out: two AuthServer and two ResourceServer replicas behind one nginx doing plain
round-robin (no stickiness), sharing one PostgreSQL database and one key-encryption key.

Proves, from nginx's own access log, that a login, its code exchange and the refreshes are served
by both AuthServer replicas and the MCP requests by both ResourceServer replicas, with the official
MCP Python SDK client going through the fronts; then that a key rotation done by the admin CLI is
picked up by every replica: new tokens carry the new kid and both resource servers accept them,
while tokens signed with the retired key keep working.

The replicas get a database of their own (created here, dropped afterwards), so the rotation
does not change the signing key under the other tests' servers.
"""
from __future__ import annotations

import base64
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
import pytest

from gatehouse import Deployment, Storage, base_env, free_port, sdk_session, start, text_of

NGINX_CONF = """\
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log info;
events {{ worker_connections 256; }}
http {{
    log_format upstreams '$msec|$server_port|$request_method|$uri|$status|$upstream_addr';
    access_log {tmp}/access.log upstreams;
    client_body_temp_path {tmp}/client_body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    # No stickiness: plain round-robin; no retry on another replica, so each log line names
    # exactly the replica that answered.
    upstream gatehouse_auth {{
        server 127.0.0.1:{as1} max_fails=0;
        server 127.0.0.1:{as2} max_fails=0;
    }}
    upstream gatehouse_resource {{
        server 127.0.0.1:{rs1} max_fails=0;
        server 127.0.0.1:{rs2} max_fails=0;
    }}
    proxy_http_version 1.1;
    proxy_next_upstream off;
    proxy_connect_timeout 5s;
    proxy_read_timeout 30s;
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-For $remote_addr;
    proxy_set_header X-Forwarded-Proto $scheme;
    server {{
        listen 127.0.0.1:{as_front};
        location / {{ proxy_pass http://gatehouse_auth; }}
    }}
    server {{
        listen 127.0.0.1:{rs_front};
        location / {{
            proxy_pass http://gatehouse_resource;
            proxy_buffering off;
            # A location that sets any header inherits none from above: Host again, or nginx sends
            # the upstream's name, which the loopback-bound servers refuse (DNS-rebinding check).
            proxy_set_header Host $http_host;
            proxy_set_header Connection "";
            proxy_set_header Authorization $http_authorization;
        }}
    }}
}}
"""


def _database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _psql(url: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                          capture_output=True, text=True, timeout=30)


def _kid(jwt: str) -> str:
    header = jwt.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))["kid"]


def _stop(proc: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 15) -> int:
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
            return -9
    return proc.returncode


class ScaleOut:
    def __init__(self, tmp: str):
        self.tmp = tmp
        self.as_front, self.rs_front = free_port(), free_port()
        self.as_ports = [free_port(), free_port()]
        self.rs_ports = [free_port(), free_port()]
        self.issuer = f"http://127.0.0.1:{self.as_front}"
        self.mcp_url = f"http://127.0.0.1:{self.rs_front}/mcp"
        self.nginx: subprocess.Popen | None = None
        self.deployment: Deployment | None = None

    @property
    def access_log(self) -> str:
        return os.path.join(self.tmp, "access.log")

    def log_lines(self) -> list[dict]:
        rows = []
        if not os.path.exists(self.access_log):
            return rows
        with open(self.access_log) as f:
            for line in f:
                msec, port, method, uri, status, upstream = line.rstrip("\n").split("|")
                rows.append({"t": float(msec), "front": int(port), "method": method, "uri": uri,
                             "status": int(status), "upstream": upstream})
        return rows


@pytest.fixture
def scale_out(logdir):
    db_base = os.environ.get("DATABASE_URL")
    assert db_base, "DATABASE_URL is not set: run the tests with `make test`"
    assert shutil.which("nginx"), "nginx is required (apt-get install -y nginx-light; scripts/test.sh does this)"
    assert shutil.which("psql"), "psql is required to create the scale-out test's database"
    tmp = tempfile.mkdtemp(prefix="scale-out-", dir=logdir)
    os.chmod(tmp, 0o755)  # nginx's worker runs as an unprivileged user when started as root
    s = ScaleOut(tmp)
    db_name = "gatehouse_scale_" + secrets.token_hex(4)
    db_url = _database_url(db_base, db_name)
    r = _psql(_database_url(db_base, "postgres"), f"CREATE DATABASE {db_name}")
    assert r.returncode == 0, f"cannot create the scale-out database: {r.stderr}"
    services = []
    try:
        env = base_env(DATABASE_URL=db_url, GATEHOUSE_ISSUER=s.issuer, GATEHOUSE_MCP_RESOURCE=s.mcp_url)
        s.deployment = Deployment(s.issuer, s.mcp_url, env, services)
        for i, port in enumerate(s.as_ports, 1):
            services.append(start(f"scale-auth{i}", ["AuthServer", "serve"],
                                  dict(env, GATEHOUSE_AUTH_PORT=str(port)), port, tmp))
        # The resource servers fetch the JWKS through the AS front: nginx goes first.
        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(tmp=tmp, as1=s.as_ports[0], as2=s.as_ports[1], rs1=s.rs_ports[0],
                                      rs2=s.rs_ports[1], as_front=s.as_front, rs_front=s.rs_front))
        s.nginx = subprocess.Popen(["nginx", "-c", conf, "-p", tmp, "-e", os.path.join(tmp, "error.log"),
                                    "-g", "daemon off;"],
                                   stdout=open(os.path.join(tmp, "nginx.out"), "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 15
        while True:
            assert s.nginx.poll() is None, f"nginx exited: {open(os.path.join(tmp, 'nginx.out')).read()}"
            try:
                if httpx.get(s.issuer + "/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.time() < deadline, "nginx did not come up in 15 s"
            time.sleep(0.1)
        for i, port in enumerate(s.rs_ports, 1):
            services.append(start(f"scale-resource{i}", ["ResourceServer", "serve"],
                                  dict(env, GATEHOUSE_RS_PORT=str(port)), port, tmp))
        yield s
    finally:
        nginx_code = _stop(s.nginx) if s.nginx else 0
        codes = {svc.name: svc.stop() for svc in services}
        r = _psql(_database_url(db_base, "postgres"), f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        if r.returncode != 0:
            print(f"could not drop {db_name}: {r.stderr}")
    assert nginx_code == 0, f"nginx exited with {nginx_code}"
    assert all(code == 0 for code in codes.values()), f"replicas did not shut down cleanly on SIGTERM: {codes}"


def _mcp(url: str, token: str, method: str = "tools/call", params: dict | None = None) -> httpx.Response:
    return httpx.post(url, timeout=10, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json",
        "Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-06-18"},
        json={"jsonrpc": "2.0", "id": 1, "method": method,
              "params": params if params is not None else {"name": "whoami", "arguments": {}}})


def test_two_replicas_each_behind_round_robin_nginx(scale_out):
    s = scale_out
    t0 = time.time()
    as_upstreams = {f"127.0.0.1:{p}" for p in s.as_ports}
    rs_upstreams = {f"127.0.0.1:{p}" for p in s.rs_ports}
    username, password = s.deployment.create_user()
    storage = Storage()

    # 1. The official SDK client, through the fronts only.
    async def calls(session):
        who = await session.call_tool("whoami", {})
        added = await session.call_tool("notes_add", {"text": "scaled out"})
        listed = await session.call_tool("notes_list", {})
        return who, added, listed

    init, seen, (who, added, listed) = anyio.run(sdk_session, s.mcp_url, username, password, storage, calls)
    assert seen["login"].pages == ["login", "consent"] and seen["login"].iss == s.issuer
    client_id = storage.client_info.client_id
    assert not who.is_error and client_id in text_of(who)
    assert not added.is_error and not listed.is_error and "scaled out" in text_of(listed)
    sdk_done = len(s.log_lines())
    t_sdk = time.time() - t0

    # 2. Refresh grants through the AS front.
    def refresh(url: str, refresh_token: str) -> dict:
        r = httpx.post(url + "/token", timeout=10, data={
            "grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id,
            "resource": s.mcp_url})
        assert r.status_code == 200, f"refresh at {url}: {r.status_code} {r.text}"
        return r.json()

    tokens = {"access_token": storage.tokens.access_token, "refresh_token": storage.tokens.refresh_token}
    for _ in range(6):
        tokens = refresh(s.issuer, tokens["refresh_token"])
        assert _mcp(s.mcp_url, tokens["access_token"]).status_code == 200
    refresh_done = len(s.log_lines())

    # 3. Who served what, from nginx's access log.
    lines = s.log_lines()
    sdk_lines, refresh_lines = lines[:sdk_done], lines[sdk_done:refresh_done]
    front = lambda row, port: row["front"] == port  # noqa: E731
    login = [r for r in sdk_lines if front(r, s.as_front) and r["method"] == "POST" and r["uri"] == "/login"]
    exchange = [r for r in sdk_lines if front(r, s.as_front) and r["method"] == "POST" and r["uri"] == "/token"]
    refreshes = [r for r in refresh_lines if front(r, s.as_front) and r["method"] == "POST" and r["uri"] == "/token"]
    mcp_posts = [r for r in lines if front(r, s.rs_front) and r["method"] == "POST" and r["uri"] == "/mcp"]
    assert len(login) == 1 and login[0]["status"] in (200, 302, 303), login  # 200: the consent page
    assert len(exchange) == 1 and exchange[0]["status"] == 200, exchange
    assert len(refreshes) == 6 and all(r["status"] == 200 for r in refreshes), refreshes
    oauth_rows = login + exchange + refreshes
    served = {r["upstream"] for r in oauth_rows}
    print("login:", login[0]["upstream"], "code exchange:", exchange[0]["upstream"],
          "refreshes:", [r["upstream"] for r in refreshes])
    assert served == as_upstreams, f"login, code exchange and refreshes were not spread over both AS replicas: {served}"
    assert {r["upstream"] for r in refreshes} == as_upstreams, refreshes
    assert {r["upstream"] for r in mcp_posts if r["status"] == 200} == rs_upstreams, mcp_posts
    # The whole authorization-code flow crossed replicas: its steps did not all land on one.
    flow = [r for r in sdk_lines if front(r, s.as_front) and r["uri"] in ("/authorize", "/login", "/consent", "/token")]
    assert {r["upstream"] for r in flow} == as_upstreams, flow

    # 4. Key rotation with the admin CLI (a separate process, like one replica's operator would).
    old = tokens
    old_kid = _kid(old["access_token"])
    rotated_at = time.time()
    r = s.deployment.admin("keys", "rotate", "--immediately")
    assert r.returncode == 0, r.stderr
    m = re.search(r"new signing key (\S+) is active now", r.stdout)
    assert m, r.stdout
    new_kid = m.group(1)
    assert new_kid != old_kid
    listed_keys = json.loads(s.deployment.admin("keys", "list", "--json").stdout)
    states = {k["kid"]: k["state"] for k in listed_keys}
    assert states.get(new_kid) == "active" and states.get(old_kid) == "retired", states

    # Every AS replica picks the new key up within its reload interval (10 s): read each replica's
    # JWKS directly until it publishes the new kid, and keep the old one published.
    published_after = {}
    deadline = rotated_at + 14
    while len(published_after) < 2 and time.time() < deadline:
        for port in s.as_ports:
            if port in published_after:
                continue
            kids = {k["kid"] for k in httpx.get(f"http://127.0.0.1:{port}/jwks.json", timeout=5).json()["keys"]}
            if new_kid in kids:
                assert old_kid in kids, f"the retired key {old_kid} was unpublished at once: {kids}"
                published_after[port] = round(time.time() - rotated_at, 1)
        time.sleep(0.25)
    assert len(published_after) == 2, f"not every AS replica published {new_kid} within 14 s: {published_after}"

    # New tokens through the front and from each AS replica directly carry the new kid.
    tokens = refresh(s.issuer, old["refresh_token"])
    assert _kid(tokens["access_token"]) == new_kid
    for port in s.as_ports:
        tokens = refresh(f"http://127.0.0.1:{port}", tokens["refresh_token"])
        assert _kid(tokens["access_token"]) == new_kid, f"AS replica {port} still signs with the old key"
    new_token = tokens["access_token"]

    # Both RS replicas (directly, and through the front) accept the new kid (they refetch the JWKS
    # on an unknown kid, at most once per 10 s) and still accept the old key's token.
    rs_targets = [f"http://127.0.0.1:{p}/mcp" for p in s.rs_ports] + [s.mcp_url]
    accepted_after = {}
    deadline = time.time() + 12
    while len(accepted_after) < len(rs_targets) and time.time() < deadline:
        for url in rs_targets:
            if url not in accepted_after and _mcp(url, new_token).status_code == 200:
                accepted_after[url] = round(time.time() - rotated_at, 1)
        time.sleep(0.25)
    assert len(accepted_after) == len(rs_targets), \
        f"a resource server did not accept the new key's token: accepted={accepted_after}"
    for url in rs_targets:
        for _ in range(2):  # through the front: both replicas
            r = _mcp(url, old["access_token"])
            assert r.status_code == 200, f"{url} refused a token signed with the retired key: {r.status_code} {r.headers}"
            r = _mcp(url, new_token)
            assert r.status_code == 200 and client_id in r.text, f"{url}: {r.status_code} {r.text[:300]}"
    print(f"timings: sdk flow {t_sdk:.1f}s; new kid published by AS replicas after {published_after} s; "
          f"accepted by RS after {accepted_after} s; total {time.time() - t0:.1f}s")
