"""Shared pieces of the fault scenarios (`make chaos`; the short ones also run in `make test`).

Every scenario starts what it breaks: its own PostgreSQL cluster (so a restart hurts nobody
else's tests), its own AuthServer and ResourceServer from the built binaries, on loopback ports.
Load is bounded by a deadline and a concurrency limit; each scenario prints its figures as one
`chaos:` line and then asserts its bar.
"""
from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

from gatehouse import ROOT, deploy, free_port  # noqa: E402

# The rate limits are for abuse; a scenario's one address and busy clients are load.
NO_RATE_LIMITS = {"GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR": "0", "GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE": "0",
                  "GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE": "0"}

POSTGRES_SH = os.path.join(ROOT, "scripts", "postgres.sh")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of the scenario's own, under .data/chaos/, that it may stop and start."""
    directory: str
    port: int
    url: str = ""

    def start(self) -> None:
        r = subprocess.run([POSTGRES_SH, "start", self.directory, str(self.port)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"cannot start PostgreSQL: {r.stderr}"
        self.url = r.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        subprocess.run([POSTGRES_SH, "stop", self.directory], capture_output=True, text=True, timeout=120)

    def psql(self, sql: str) -> str:
        r = subprocess.run(["psql", self.url, "-qAt", "-c", sql], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)
        # As root, scripts/postgres.sh may have put the cluster in /tmp (see there): not ours to find,
        # so the directory name is unique per run and the /tmp copy goes with the machine.


def private_postgres(name: str) -> PrivatePostgres:
    directory = os.path.join(ROOT, ".data", "chaos", f"{name}-{secrets.token_hex(3)}")
    pg = PrivatePostgres(directory, free_port())
    pg.start()
    return pg


@contextlib.contextmanager
def stack_on_private_postgres(name: str, logdir: str, **env: str):
    """Its own PostgreSQL cluster and both services on it (rate limits off); both stopped, and the
    cluster removed, afterwards. The services must stop cleanly on SIGTERM."""
    pg = private_postgres(name)
    d = None
    try:
        d = deploy(logdir, DATABASE_URL=pg.url, **(NO_RATE_LIMITS | env))
        yield pg, d
    finally:
        codes = d.stop() if d else {}
        pg.remove()
    assert all(code == 0 for code in codes.values()), f"services did not stop cleanly on SIGTERM: {codes}"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def rss_kib(pid: int) -> int:
    """A process's resident memory, from /proc."""
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


def open_fds(pid: int) -> int:
    """A process's open file descriptors, from /proc."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


@dataclass
class Tally:
    """Answers by kind and status, the slowest answer of each kind, the last success of each kind,
    and every answer a fault scenario does not allow (anything but 2xx and 503; a 503 without
    `Retry-After`; no answer at all)."""
    counts: dict = field(default_factory=dict)
    slowest: dict = field(default_factory=dict)
    bad: list = field(default_factory=list)
    last_ok: dict = field(default_factory=dict)
    missing_retry_after: list = field(default_factory=list)

    def add(self, kind: str, status: int | str, seconds: float) -> None:
        key = f"{kind}:{status}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.slowest[kind] = max(self.slowest.get(kind, 0.0), seconds)

    async def timed(self, kind: str, call) -> httpx.Response | None:
        """Awaits `call()` and records its answer; None when there was none."""
        started = time.monotonic()
        try:
            r = await call()
        except httpx.HTTPError as error:
            self.add(kind, type(error).__name__, time.monotonic() - started)
            self.bad.append(f"{kind}: {type(error).__name__}")
            return None
        self.add(kind, r.status_code, time.monotonic() - started)
        if r.status_code == 503 and "retry-after" not in r.headers:
            self.missing_retry_after.append(kind)
        if r.status_code < 300:
            self.last_ok[kind] = time.monotonic()
        elif r.status_code != 503:
            self.bad.append(f"{kind}: {r.status_code} {r.text[:200]}")
        return r


def report(scenario: str, **figures) -> None:
    print(f"chaos: {scenario} " + json.dumps(figures, sort_keys=True), flush=True)
