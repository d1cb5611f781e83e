"""Scenario 8, the connection-level part: slow-header (slowloris), huge-header and
connection-flood clients against both services.

The bar (issue 14): bounded memory and file descriptors, service to others unaffected. Each
attack runs while a well-behaved client keeps calling `/healthz`; its slowest answer is the
"others unaffected" figure. Slow connections must be closed by the server within its idle
timeout (GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS, 5 s here), not held for as long as the attacker likes.
"""
from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from chaos import open_fds, report, rss_kib
from gatehouse import deploy

IDLE_TIMEOUT = 5
SLOW, FLOOD = 200, 1000




class Bystander:
    """A well-behaved client calling /healthz every 50 ms: the slowest answer it saw."""

    def __init__(self, url: str) -> None:
        self.url, self.slowest, self.failures, self.stop = url, 0.0, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=10) as http:
            while not self.stop.is_set():
                started = time.monotonic()
                try:
                    if http.get(self.url).status_code != 200:
                        self.failures.append("status")
                except httpx.HTTPError as error:
                    self.failures.append(type(error).__name__)
                self.slowest = max(self.slowest, time.monotonic() - started)
                time.sleep(0.05)

    def finish(self) -> dict:
        self.stop.set()
        self.thread.join()
        return {"slowest_ms": round(self.slowest * 1000), "failures": len(self.failures)}


@pytest.fixture(scope="module")
def services(logdir):
    d = deploy(logdir, GATEHOUSE_HTTP_IDLE_TIMEOUT_SECONDS=str(IDLE_TIMEOUT))
    yield d
    codes = d.stop()
    assert all(code == 0 for code in codes.values()), codes


def ports(d):
    return {s.name: (s.port, s.proc.pid) for s in d.services}


@pytest.mark.short
@pytest.mark.parametrize("service", ["auth", "resource"])
def test_slow_headers_are_cut_off(services, service):
    port, pid = ports(services)[service]
    base_fds = open_fds(pid)
    bystander = Bystander(f"http://127.0.0.1:{port}/healthz")
    socks = []
    for _ in range(SLOW):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        socks.append(s)
    held_fds = open_fds(pid)
    # Trickle a header byte now and then, for twice the idle timeout: a slowloris.
    closed_by_server = 0
    deadline = time.monotonic() + 2 * IDLE_TIMEOUT + 3
    while time.monotonic() < deadline and closed_by_server < SLOW:
        for s in socks:
            if s.fileno() == -1:
                continue
            try:
                s.sendall(b"X")
            except OSError:
                closed_by_server += 1
                s.close()
        time.sleep(1)
    after_fds = open_fds(pid)
    for s in socks:
        s.close()
    figures = {"slow_connections": SLOW, "fds": {"before": base_fds, "held": held_fds, "after_timeout": after_fds},
               "closed_by_server": closed_by_server, "bystander": bystander.finish()}
    report(f"slow-headers-{service}", **figures)
    assert figures["bystander"]["failures"] == 0 and figures["bystander"]["slowest_ms"] < 2000, figures
    assert after_fds <= base_fds + 20, f"the slow connections were not closed: {figures}"


@pytest.mark.short
@pytest.mark.parametrize("service", ["auth", "resource"])
def test_huge_headers_are_refused(services, service):
    port, pid = ports(services)[service]
    before = rss_kib(pid)
    answers = {}
    for size in (64 << 10, 1 << 20, 16 << 20):
        s = socket.create_connection(("127.0.0.1", port))
        s.settimeout(10)
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
            sent = 0
            chunk = b"a" * 65536
            while sent < size:
                s.sendall(chunk)
                sent += len(chunk)
            s.sendall(b"\r\n\r\n")
            answer = s.recv(200).split(b"\r\n")[0].decode(errors="replace") or "closed"
        except OSError as error:
            answer = f"closed ({type(error).__name__})"
        finally:
            s.close()
        answers[f"{size >> 10} KiB"] = answer
    growth = (rss_kib(pid) - before) // 1024
    ok = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    report(f"huge-headers-{service}", answers=answers, rss_growth_mib=growth, healthz_after=ok)
    assert all("200" not in a for k, a in answers.items() if k != "64 KiB"), answers
    assert growth < 64, f"{growth} MiB more after huge headers"
    assert ok == 200


@pytest.mark.short
@pytest.mark.parametrize("service", ["auth", "resource"])
def test_connection_flood(services, service):
    port, pid = ports(services)[service]
    base_fds, before = open_fds(pid), rss_kib(pid)
    bystander = Bystander(f"http://127.0.0.1:{port}/healthz")
    socks = []
    for _ in range(FLOOD):
        try:
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        except OSError:
            break
    opened = len(socks)
    time.sleep(IDLE_TIMEOUT + 3)
    idle_fds = open_fds(pid)
    for s in socks:
        s.close()
    figures = {"opened": opened, "fds": {"before": base_fds, "after_idle_timeout": idle_fds},
               "rss_growth_mib": (rss_kib(pid) - before) // 1024, "bystander": bystander.finish()}
    report(f"connection-flood-{service}", **figures)
    assert figures["bystander"]["failures"] == 0 and figures["bystander"]["slowest_ms"] < 2000, figures
    assert idle_fds <= base_fds + 20, f"idle connections were not closed: {figures}"
    assert figures["rss_growth_mib"] < 64, figures
