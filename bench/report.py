"""The `make bench` report: one row per wrk run and the ratios that are the point of the benchmark.

scripts/bench.sh leaves, in one folder, wrk's output per row (`wrk-<row>.txt`, whose RESULT line
bench/stats.lua prints) and OpenSSL's own RSA-2048 rate (`openssl-speed.txt`); this prints the
table and the ratios from them. A row without a RESULT line is reported as "wrk failed" with
0 req/s, so one broken run never hides the others.

Usage: python bench/report.py LOGS_DIR
"""
import json
import os
import sys
from dataclasses import dataclass

# The auth ÷ auth-off pair runs PAIRS times (scripts/bench.sh); rows mcp_noauth_<i> / mcp_auth_<i> come
# between these two lists, as many pairs as the run left (at least two).
ROWS_BEFORE_PAIRS = ["register", "refresh"]
ROWS_AFTER_PAIRS = ["mcp_noauth_no_header", "mcp_call_auth", "gateway_direct_1", "gateway_1", "gateway_direct_2", "gateway_2",
                    "gateway_direct_c1", "gateway_c1", "refresh_c4", "refresh_paced", "code_exchange"]


def pair_count(names) -> int:
    """How many auth ÷ auth-off pairs a run has: the highest `mcp_auth_<i>` / `mcp_noauth_<i>` seen, at least 2."""
    indices = [int(n.rsplit("_", 1)[1]) for n in names
               if n.startswith(("mcp_auth_", "mcp_noauth_")) and n.rsplit("_", 1)[1].isdigit()]
    return max([2, *indices])


def row_names(pairs: int) -> list[str]:
    return [*ROWS_BEFORE_PAIRS, *(f"mcp_{kind}_{i}" for i in range(1, pairs + 1) for kind in ("noauth", "auth")),
            *ROWS_AFTER_PAIRS]



@dataclass
class Row:
    """One wrk run: the RESULT fields as printed (strings), so the table shows them unchanged."""
    rps: str = "0"
    p50: str = "-"
    p99: str = "-"
    detail: str = "wrk failed"

    steal: str = "-"
    """The share of the machine's CPU time the hypervisor stole during the row, in %."""
    server_us: float = 0
    """The server's own CPU time (utime + stime) per request, in µs; 0 when not measured."""

    @property
    def rate(self) -> float:
        return float(self.rps)

    @property
    def requests(self) -> int:
        return int(self.detail.split()[0][2:]) if self.detail.startswith("n=") else 0


def with_cpu(row: Row, text: str) -> Row:
    """Row plus scripts/bench.sh's `cpu-<row>.txt` (steal_ticks=… total_ticks=… server_ticks=…
    ticks_per_second=…), when there is one."""
    try:
        f = {k: int(v) for k, v in (pair.split("=", 1) for pair in text.split())}
    except ValueError:
        return row
    if f.get("total_ticks", 0) > 0:
        row.steal = f"{100 * f['steal_ticks'] / f['total_ticks']:.0f}"
    if f.get("server_ticks", 0) > 0 and row.requests > 0 and f.get("ticks_per_second", 0) > 0:
        row.server_us = 1e6 * f["server_ticks"] / f["ticks_per_second"] / row.requests
    return row


def parse_result(output: str) -> Row:
    """The first `RESULT k=v ...` line of a wrk run (bench/stats.lua's `done`)."""
    for line in output.splitlines():
        if line.startswith("RESULT "):
            f = dict(pair.split("=", 1) for pair in line.split()[1:])
            return Row(f["rps"], f["p50"], f["p99"],
                       f"n={f['n']} 2xx={f['ok']} 4xx={f['c4xx']} 5xx={f['c5xx']} sockerr={f['sockerr']}")
    return Row()


def parse_openssl_speed(output: str) -> tuple[str, str]:
    """sign/s and verify/s: the last two fields of `openssl speed rsa2048`'s `rsa 2048 bits` line."""
    for line in output.splitlines():
        if line.startswith("rsa 2048 bits"):
            fields = line.split()
            return fields[-2], fields[-1]
    return "", ""


def number(text: str) -> float:
    """A rate as the report reads it: anything missing or unreadable counts as 0 (so: n/a)."""
    try:
        return float(text)
    except ValueError:
        return 0.0


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b > 0 else "n/a"


def stdio_lines(stdio: dict) -> list[str]:
    """bench/stdio.py's figures, or why there are none."""
    if not stdio:
        return ["stdio gateway: no figures (bench/stdio.py failed; see its output above)"]
    return [
        f"stdio gateway, a new user's first call (process start + MCP handshake), median of {stdio['users']} users"
        f" = {stdio['first_call_ms']} ms (range {stdio['first_call_ms_range'][0]}–{stdio['first_call_ms_range'][1]})",
        f"stdio gateway, one user's steady calls/s: sequential = {stdio['steady_calls_per_s']},"
        f" 8 concurrent callers = {stdio['concurrent_calls_per_s']}"
        f"; the same server over its own pipes, sequential = {stdio['direct_calls_per_s']}",
        f"stdio gateway, memory: {stdio['rss_per_process_kib']} KiB resident per idle user process"
        f" (median of {stdio['processes']}); {stdio['rss_per_session_bytes']} bytes of ResourceServer memory"
        f" per idle session ({stdio['sessions']} sessions opened)",
    ]


def p50(row: Row) -> float:
    return number(row.p50)


def startup_lines(startup: dict) -> list[str]:
    """scripts/bench.sh's start-up figures (release build, fresh database), or why there are none."""
    if not startup:
        return ["start-up: no figures"]
    return [f"ready after start: AuthServer {startup['auth_ready_ms']} ms (migrating a fresh database),"
            f" ResourceServer {startup['rs_ready_ms']} ms (target < 1000 ms each)",
            f"idle resident memory: AuthServer {startup['auth_idle_rss_mib']} MiB, ResourceServer"
            f" {startup['rs_idle_rss_mib']} MiB (target < 64 MB each)"]


def spread(label: str, ratios: list[float], pairs: int) -> str:
    ordered = sorted(ratios)
    median = ordered[len(ordered) // 2] if len(ordered) % 2 else (ordered[len(ordered) // 2 - 1] + ordered[len(ordered) // 2]) / 2
    return (f"{label} ({len(ratios)} of {pairs} pairs): " + " ".join(f"{r:.2f}" for r in ratios)
            + f"  (min {ordered[0]:.2f}, median {median:.2f}, max {ordered[-1]:.2f})")


def pair_lines(rate: dict[str, float], pairs: int, rows: dict[str, Row] | None = None) -> list[str]:
    """Each pair's ratio and their spread: the target holds "in every run", so the worst pair counts.
    With the servers' own CPU per request (`cpu-<row>.txt`), the same pairs by cost as well: the
    hypervisor's steal, which moves the rates, is not counted in a process's CPU time."""
    ratios = [rate[f"mcp_auth_{i}"] / rate[f"mcp_noauth_{i}"] for i in range(1, pairs + 1)
              if rate[f"mcp_auth_{i}"] > 0 and rate[f"mcp_noauth_{i}"] > 0]
    if not ratios:
        return [f"authenticated ÷ unauthenticated tools/list per pair ({pairs} pairs): n/a"]
    lines = [spread("authenticated ÷ unauthenticated tools/list per pair", ratios, pairs)]
    rows = rows or {}
    costs = [rows[f"mcp_noauth_{i}"].server_us / rows[f"mcp_auth_{i}"].server_us for i in range(1, pairs + 1)
             if f"mcp_auth_{i}" in rows and f"mcp_noauth_{i}" in rows
             and rows[f"mcp_auth_{i}"].server_us > 0 and rows[f"mcp_noauth_{i}"].server_us > 0]
    if costs:
        lines.append(spread("the same by the server's own CPU per request, auth-off µs ÷ authenticated µs", costs, pairs))
    return lines


def refresh_latency_lines(rows: dict[str, Row], connections: int = 32, paced_rps: float = 0,
                          bar_rps: float = 0) -> list[str]:
    """The refresh row's p99 next to what queueing alone makes of it: with every connection busy,
    Little's law makes the mean latency connections ÷ rate, so p99 < 50 ms at 32 connections needs
    more than 640 refreshes/s whatever a refresh costs; the 4-connection row shows one refresh's own,
    and the paced row (bench/pace.lua) the latency at 32 connections offered the bar's own rate."""
    full, few = rows.get("refresh", Row()), rows.get("refresh_c4", Row())
    if full.rate <= 0:
        return ["refresh latency: n/a"]
    line = (f"refresh p99 at {connections} connections = {full.p99} ms (target < 50); queueing alone: mean"
            f" {connections} ÷ {full.rps}/s = {1000 * connections / full.rate:.1f} ms"
            f" (< 50 ms needs > {connections * 1000 // 50}/s)")
    if few.rate > 0:
        line += f"; at 4 connections p50 {few.p50} / p99 {few.p99} ms ({few.rps}/s)"
    lines = [line]
    paced = rows.get("refresh_paced", Row())
    if paced.rate > 0 and paced_rps > 0:
        why = "the 0.40 × sign bar" if paced_rps >= bar_rps - 1 else f"0.8 × the saturated rate; the 0.40 × sign bar is {bar_rps:.0f}/s"
        lines.append(f"refresh p99 at {connections} connections paced at {paced_rps:.0f}/s ({why}) ="
                     f" {paced.p99} ms (target < 50; p50 {paced.p50} ms; {paced.rps}/s reached"
                     + (", BEHIND THE PACE: closed-loop" if paced.rate < 0.95 * paced_rps else "") + ")")
    return lines


def codes_spent(rows: dict[str, Row]) -> int:
    """How many requests the code-exchange row sent (its `n`), 0 when it did not run."""
    return rows.get("code_exchange", Row()).requests


def report(rows: dict[str, Row], sign: str, verify: str, cores: int, stdio: dict | None = None,
           startup: dict | None = None, codes_minted: int = 0, paced_rps: float = 0) -> str:
    pairs = pair_count(rows)
    names = row_names(pairs)
    lines = ["", f"{'workload':<32} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'steal %':>8} {'µs CPU':>7}  responses"]
    for name in names:
        r = rows.get(name, Row())
        cpu = f"{r.server_us:.0f}" if r.server_us else "-"
        lines.append(f"{name:<32} {r.rps:>10} {r.p50:>9} {r.p99:>9} {r.steal:>8} {cpu:>7}  {r.detail}")
    rate = {name: rows.get(name, Row()).rate for name in names}
    auth = sum(rate[f"mcp_auth_{i}"] for i in range(1, pairs + 1))
    noauth = sum(rate[f"mcp_noauth_{i}"] for i in range(1, pairs + 1))
    sign_rate = number(sign)
    lines += [
        "",
        f"baseline: openssl speed rsa2048 on one core: sign/s={sign} verify/s={verify}",
        f"refresh grants/s ÷ OpenSSL RSA-2048 sign/s (one core)  = {ratio(rate['refresh'], sign_rate)}",
        *refresh_latency_lines(rows, paced_rps=paced_rps or 0.40 * sign_rate, bar_rps=0.40 * sign_rate),
        f"code exchanges/s ÷ OpenSSL RSA-2048 sign/s (one core)  = {ratio(rate['code_exchange'], sign_rate)}"
        + (f"  ({rows['code_exchange'].detail})" if "code_exchange" in rows else "")
        + ("  CODES RAN OUT: the rate is a floor" if codes_minted and codes_spent(rows) >= codes_minted else ""),
        f"registrations/s ÷ OpenSSL RSA-2048 sign/s (one core)   = {ratio(rate['register'], sign_rate)}",
        f"authenticated ÷ unauthenticated MCP tools/list         = {ratio(auth, noauth)}"
        "  (target >= 0.90; same request bytes)",
        *pair_lines(rate, pairs, rows),
        "authenticated ÷ unauthenticated, baseline without the Authorization header = "
        f"{ratio(auth, pairs * rate['mcp_noauth_no_header'])}",
        f"authenticated tools/call (whoami) ÷ authenticated tools/list = {ratio(rate['mcp_call_auth'], auth / pairs)}"
        "  (target: tools/list's cost plus the tool's own work)",
        f"gateway ÷ upstream called directly, authenticated tools/call = "
        f"{ratio(rate['gateway_1'] + rate['gateway_2'], rate['gateway_direct_1'] + rate['gateway_direct_2'])}"
        "  (target >= 0.85; same request bytes)",
        "gateway's added latency at p50, one connection = "
        + (f"{p50(rows.get('gateway_c1', Row())) - p50(rows.get('gateway_direct_c1', Row())):.2f} ms"
           if p50(rows.get('gateway_c1', Row())) and p50(rows.get('gateway_direct_c1', Row())) else "n/a"),
        *stdio_lines(stdio or {}),
        *startup_lines(startup or {}),
        f"(wrk, PostgreSQL and the servers share this machine's {cores} cores)",
    ]
    return "\n".join(lines) + "\n"


def read(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def main(logs: str) -> None:
    found = [f[len("wrk-"):-len(".txt")] for f in os.listdir(logs) if f.startswith("wrk-") and f.endswith(".txt")]
    rows = {name: with_cpu(parse_result(read(os.path.join(logs, f"wrk-{name}.txt"))), read(os.path.join(logs, f"cpu-{name}.txt")))
            for name in row_names(pair_count(found))}
    sign, verify = parse_openssl_speed(read(os.path.join(logs, "openssl-speed.txt")))
    # The cores this process may run on, as `nproc` counts them.
    stdio_text = read(os.path.join(logs, "stdio.json")).strip()
    stdio = json.loads(stdio_text) if stdio_text else {}
    startup_text = read(os.path.join(logs, "startup.json")).strip()
    startup = json.loads(startup_text) if startup_text else {}
    minted = read(os.path.join(logs, "codes-minted.txt")).strip()
    pace = read(os.path.join(logs, "pace.txt")).strip()
    sys.stdout.write(report(rows, sign, verify, len(os.sched_getaffinity(0)), stdio, startup,
                            int(minted) if minted.isdigit() else 0, float(pace) if pace.isdigit() else 0))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/report.py LOGS_DIR")
    main(sys.argv[1])
