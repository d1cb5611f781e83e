"""A real PostgreSQL HA stack on loopback for the failover scenario: one etcd, two Patroni nodes
(each running its own PostgreSQL 15), and HAProxy sending connections to whichever node Patroni's
REST API says is the primary. All Debian packages (patroni, etcd-server, haproxy).

Replication is synchronous (`synchronous_mode: true`), so a commit the primary acknowledged is on
the replica too: that is what lets a failover lose no grant. As root, etcd, Patroni and
PostgreSQL run as the `postgres` user (PostgreSQL refuses root), in a directory it owns.
"""
from __future__ import annotations

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time

import httpx

from gatehouse import free_port

PG_BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1]
SUPERUSER_PASSWORD = "chaos-superuser"


def as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


PATRONI_YAML = """\
scope: gatehouse-chaos
name: {name}
restapi:
  listen: 127.0.0.1:{rest_port}
  connect_address: 127.0.0.1:{rest_port}
etcd3:
  hosts: 127.0.0.1:{etcd_port}
bootstrap:
  dcs:
    ttl: 10
    loop_wait: 1
    retry_timeout: 4
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    postgresql:
      use_pg_rewind: false
      parameters:
        max_connections: 200
        wal_level: replica
        hot_standby: "on"
        max_wal_senders: 5
        max_replication_slots: 5
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:{pg_port}
  connect_address: 127.0.0.1:{pg_port}
  data_dir: {data_dir}
  bin_dir: {pg_bin}
  pgpass: {base}/pgpass-{name}
  authentication:
    superuser: {{username: postgres, password: {superuser_password}}}
    replication: {{username: replicator, password: replicator}}
  parameters:
    unix_socket_directories: {base}
tags: {{nofailover: false, noloadbalance: false, clonefrom: false}}
"""

HAPROXY_CFG = """\
global
    maxconn 500
defaults
    mode tcp
    timeout connect 2s
    timeout client 30m
    timeout server 30m
    timeout check 1s
listen primary
    bind 127.0.0.1:{port}
    option httpchk OPTIONS /primary
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1 on-marked-down shutdown-sessions
    server {name1} 127.0.0.1:{pg1} check port {rest1}
    server {name2} 127.0.0.1:{pg2} check port {rest2}
"""


class HAStack:
    def __init__(self, logdir: str) -> None:
        self.base = tempfile.mkdtemp(prefix="gatehouse-patroni-")
        self.logdir = logdir
        if os.geteuid() == 0:
            shutil.chown(self.base, "postgres", "postgres")
        os.chmod(self.base, 0o700)
        self.etcd_port, self.etcd_peer = free_port(), free_port()
        self.nodes = {name: {"rest": free_port(), "pg": free_port(), "proc": None}
                      for name in ("pg1", "pg2")}
        self.haproxy_port = free_port()
        self.procs: list[subprocess.Popen] = []

    def _spawn(self, name: str, args: list[str], as_pg: bool = True) -> subprocess.Popen:
        log = open(os.path.join(self.logdir, f"ha-{name}.log"), "a")
        proc = subprocess.Popen(as_postgres(args) if as_pg else args, stdout=log, stderr=subprocess.STDOUT,
                                cwd=self.base, start_new_session=True)
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        self._spawn("etcd", ["etcd", "--name", "chaos", "--data-dir", f"{self.base}/etcd",
                             "--listen-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                             "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_port}",
                             "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
                             "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.etcd_peer}",
                             "--initial-cluster", f"chaos=http://127.0.0.1:{self.etcd_peer}"])
        self._wait(lambda: httpx.get(f"http://127.0.0.1:{self.etcd_port}/health", timeout=1).status_code == 200, 30, "etcd")
        for name in self.nodes:
            self.start_node(name)
            if name == "pg1":   # the first bootstraps the cluster; the second clones from it
                self._wait(lambda: self.primary() == "pg1", 60, "the first Patroni primary")
        self._wait(lambda: self.replica_streaming(), 90, "the Patroni replica")
        cfg = os.path.join(self.base, "haproxy.cfg")
        (n1, n2) = self.nodes.items()
        with open(cfg, "w") as f:
            f.write(HAPROXY_CFG.format(port=self.haproxy_port, name1=n1[0], pg1=n1[1]["pg"], rest1=n1[1]["rest"],
                                       name2=n2[0], pg2=n2[1]["pg"], rest2=n2[1]["rest"]))
        if os.geteuid() == 0:
            shutil.chown(cfg, "postgres", "postgres")
        self._spawn("haproxy", ["haproxy", "-db", "-f", cfg])
        # HAProxy assumes a server is up until its checks say otherwise: wait until it has marked
        # the replica down, that is until several connections in a row reach the primary.
        self._wait(lambda: all(self.psql("SELECT NOT pg_is_in_recovery()") == "t" for _ in range(6)), 30,
                   "HAProxy to the primary")
        self.psql("CREATE ROLE gatehouse LOGIN CREATEDB")
        self.psql("CREATE DATABASE gatehouse OWNER gatehouse")

    def start_node(self, name: str) -> None:
        node = self.nodes[name]
        cfg = os.path.join(self.base, f"{name}.yml")
        with open(cfg, "w") as f:
            f.write(PATRONI_YAML.format(name=name, rest_port=node["rest"], etcd_port=self.etcd_port, pg_port=node["pg"],
                                        data_dir=f"{self.base}/{name}", pg_bin=PG_BIN, base=self.base,
                                        superuser_password=SUPERUSER_PASSWORD))
        if os.geteuid() == 0:
            shutil.chown(cfg, "postgres", "postgres")
        node["proc"] = self._spawn(name, ["patroni", cfg])

    @property
    def database_url(self) -> str:
        return f"postgres://gatehouse@127.0.0.1:{self.haproxy_port}/gatehouse"

    def psql(self, sql: str, port: int | None = None, database: str = "postgres") -> str:
        r = subprocess.run(["psql", f"postgres://postgres:{SUPERUSER_PASSWORD}@127.0.0.1:{port or self.haproxy_port}/{database}",
                            "-qAt", "-c", sql], capture_output=True, text=True, timeout=15)
        if r.returncode != 0:
            raise RuntimeError(r.stderr.strip())
        return r.stdout.strip()

    def role(self, name: str) -> str | None:
        try:
            return httpx.get(f"http://127.0.0.1:{self.nodes[name]['rest']}/patroni", timeout=1).json().get("role")
        except (httpx.HTTPError, ValueError):
            return None

    def primary(self) -> str | None:
        for name in self.nodes:
            try:
                if httpx.get(f"http://127.0.0.1:{self.nodes[name]['rest']}/primary", timeout=1).status_code == 200:
                    return name
            except httpx.HTTPError:
                pass
        return None

    def replica_streaming(self) -> bool:
        try:
            return self.psql("SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'",
                             port=self.nodes[self.primary() or "pg1"]["pg"]) == "1"
        except RuntimeError:
            return False

    def crash(self, name: str) -> None:
        """The node dies at once: its Patroni and its PostgreSQL, SIGKILL, nothing flushed."""
        node = self.nodes[name]
        postmaster = None
        try:
            with open(f"{self.base}/{name}/postmaster.pid") as f:
                postmaster = int(f.readline())
        except (OSError, ValueError):
            pass
        os.killpg(node["proc"].pid, signal.SIGKILL)
        if postmaster:
            try:
                os.kill(postmaster, signal.SIGKILL)
            except ProcessLookupError:
                pass
        node["proc"].wait()

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    # PostgreSQL takes SIGTERM as a "smart" shutdown that waits for its clients.
                except ProcessLookupError:
                    continue
        deadline = time.time() + 20
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # Any PostgreSQL of ours still running (its postmaster.pid is in our data directories).
        for name in self.nodes:
            self._kill_postmaster(name, signal.SIGKILL)
        shutil.rmtree(self.base, ignore_errors=True)

    def _kill_postmaster(self, name: str, sig: int) -> None:
        try:
            with open(f"{self.base}/{name}/postmaster.pid") as f:
                pid = int(f.readline())
            os.kill(pid, sig)
        except (OSError, ValueError):
            pass

    @staticmethod
    def _wait(check, seconds: float, what: str) -> None:
        deadline = time.time() + seconds
        while time.time() < deadline:
            try:
                if check():
                    return
            except Exception:  # noqa: BLE001 - not up yet
                pass
            time.sleep(0.3)
        raise RuntimeError(f"{what} did not come up in {seconds} s")
