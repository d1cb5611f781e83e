"""A second Gatehouse AuthServer as an upstream authorization server (issue 12).

Gatehouse is a real OpenID Provider, so the federation tests sign in *through* another Gatehouse:
this one runs on a free port of the loopback address 127.0.0.2 (so its cookies never mix with those
of a Gatehouse on 127.0.0.1), with its own database (created on the DATABASE_URL server, dropped
on stop), its own key-encryption key and a GATEHOUSE_CONFIG holding the given pre-registered
`clients:`. Only the AuthServer runs: the upstream is an identity provider and an
authorization server, and nothing here needs its MCP endpoint.

    up = upstream_gatehouse(logdir, '''
      - id: downstream
        name: Downstream Gatehouse
        redirect_uris: [http://127.0.0.1:9000/login/corp/callback]
        secret_env: DOWNSTREAM_SECRET
    ''')
    try: ... up.issuer, up.create_user(), up.env["DOWNSTREAM_SECRET"] (set it yourself: see below)
    finally: up.stop()

A client with `secret_env:` reads its secret from the upstream's environment: pass it with
`env={"DOWNSTREAM_SECRET": secret}`.
"""
from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from gatehouse import BIN, Deployment, Service, base_env, wait_ready

UPSTREAM_HOST = "127.0.0.2"


def _database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def _psql(url: str, sql: str) -> subprocess.CompletedProcess:
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                          capture_output=True, text=True, timeout=30)


@dataclass
class UpstreamDeployment(Deployment):
    """A Deployment whose stop also drops its private database and removes its config file."""
    admin_url: str = ""
    database: str = ""
    config_path: str = ""

    def stop(self) -> dict[str, int]:
        codes = super().stop()
        if self.database:
            r = _psql(self.admin_url, f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            if r.returncode != 0:
                print(f"could not drop {self.database}: {r.stderr}")
            self.database = ""
        if self.config_path and os.path.exists(self.config_path):
            os.unlink(self.config_path)
        return codes


def upstream_gatehouse(logdir: str, clients_yaml: str, *, env: dict | None = None) -> Deployment:
    """Starts an upstream AuthServer; `clients_yaml` is the `clients:` list (with or without the
    `clients:` line itself). `env` adds variables (a client's `secret_env`). Stop it with `.stop()`:
    that also drops its database."""
    base = os.environ.get("DATABASE_URL")
    assert base, "DATABASE_URL is not set: run the tests with `make test`"
    assert shutil.which("psql"), "psql is required to create the upstream Gatehouse's database"
    current = urlsplit(base).path.lstrip("/") or "gatehouse"
    database = re.sub(r"[^a-z0-9_]", "_", f"{current}_upstream_{secrets.token_hex(4)}".lower())
    admin_url = _database_url(base, "postgres")
    r = _psql(admin_url, f"CREATE DATABASE {database}")
    assert r.returncode == 0, f"cannot create the upstream database {database}: {r.stderr}"

    text = clients_yaml.strip("\n")
    if not text.lstrip().startswith("clients:"):
        text = "clients:\n" + text
    handle, config_path = tempfile.mkstemp(prefix="gatehouse-upstream-", suffix=".yaml")
    with os.fdopen(handle, "w") as f:
        f.write(text + "\n")

    # 127.0.0.2, another loopback address: browsers keep cookies per host, not per port, so an
    # upstream on 127.0.0.1 would overwrite the downstream's gh_flow and gh_session cookies.
    port = _free_port(UPSTREAM_HOST)
    issuer = f"http://{UPSTREAM_HOST}:{port}"
    mcp_url = f"http://{UPSTREAM_HOST}:{_free_port(UPSTREAM_HOST)}/mcp"   # never served: no ResourceServer
    environment = base_env(
        DATABASE_URL=_database_url(base, database), GATEHOUSE_ISSUER=issuer, GATEHOUSE_MCP_RESOURCE=mcp_url,
        GATEHOUSE_AUTH_HOST=UPSTREAM_HOST, GATEHOUSE_AUTH_PORT=str(port), GATEHOUSE_CONFIG=config_path,
        GATEHOUSE_KEK=base64.b64encode(secrets.token_bytes(32)).decode(), **(env or {}))
    environment.pop("GATEHOUSE_KEK_FILE", None)   # its own KEK, never the caller's file
    d = UpstreamDeployment(issuer, mcp_url, environment, admin_url=admin_url, database=database,
                           config_path=config_path)
    name = f"upstream-auth-{database[-8:]}"
    log = open(os.path.join(logdir, f"{name}.log"), "w")
    proc = subprocess.Popen([os.path.join(BIN, "AuthServer"), "serve"], env=environment, stdout=log, stderr=subprocess.STDOUT)
    d.services.append(Service(name, proc, port, log.name))
    try:
        wait_ready(f"{issuer}/readyz", proc)
    except BaseException:
        d.stop()  # an upstream that never got ready must not outlive its test (nor its database)
        raise
    return d


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
