"""bench/report.py, the `make bench` report, on captured wrk and openssl output (no servers)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import report  # noqa: E402


def wrk(rps: str, p50: str = "1.40", p99: str = "4.02", n: int = 100, ok: int = 100) -> str:
    return (f"Running 10s test @ http://127.0.0.1:18000\n  2 threads and 32 connections\n"
            f"RESULT rps={rps} p50={p50} p99={p99} n={n} ok={ok} c4xx=0 c5xx={n - ok} sockerr=0\n")


def write_logs(tmp_path, outputs: dict[str, str], speed: str) -> str:
    for name, text in outputs.items():
        (tmp_path / f"wrk-{name}.txt").write_text(text)
    (tmp_path / "openssl-speed.txt").write_text(speed)
    return str(tmp_path)


SPEED = ("                  sign    verify    sign/s verify/s\n"
         "rsa 2048 bits 0.001365s 0.000041s    732.8  24673.8\n")


def test_rows_and_ratios(tmp_path, capsys):
    logs = write_logs(tmp_path, {
        "register": wrk("412.3", "70.12", "150.55", 4123, 4123), "refresh": wrk("655.9"),
        "mcp_noauth_1": wrk("21034.7"), "mcp_auth_1": wrk("19876.2"), "mcp_noauth_2": wrk("20999.1"),
        "mcp_auth_2": wrk("19801.0", n=10, ok=9), "mcp_noauth_no_header": wrk("22500.5"),
        "mcp_call_auth": wrk("15871.7"), "refresh_c4": wrk("400.0", "9.50", "21.25"), "code_exchange": wrk("366.4", n=2931, ok=2929),
        "refresh_paced": wrk("290.1", "8.10", "19.70"),
    }, SPEED)
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == ""
    assert ("refresh p99 at 32 connections = 4.02 ms (target < 50); queueing alone: mean 32 ÷ 655.9/s = 48.8 ms"
            " (< 50 ms needs > 640/s); at 4 connections p50 9.50 / p99 21.25 ms (400.0/s)") in lines
    # The paced row: 32 connections offered 0.40 × 732.8 = 293/s; 290.1 is within 5 % of it.
    assert ("refresh p99 at 32 connections paced at 293/s (the 0.40 × sign bar) = 19.70 ms (target < 50;"
            " p50 8.10 ms; 290.1/s reached)") in lines
    assert ("code exchanges/s ÷ OpenSSL RSA-2048 sign/s (one core)  = 0.50"
            "  (n=2931 2xx=2929 4xx=0 5xx=2 sockerr=0)") in lines
    assert lines[1] == "workload                              req/s    p50 ms    p99 ms  steal %  µs CPU  responses"
    assert lines[2] == ("register                              412.3     70.12    150.55        -       -"
                        "  n=4123 2xx=4123 4xx=0 5xx=0 sockerr=0")
    assert lines[7] == ("mcp_auth_2                          19801.0      1.40      4.02        -       -"
                        "  n=10 2xx=9 4xx=0 5xx=1 sockerr=0")
    assert "baseline: openssl speed rsa2048 on one core: sign/s=732.8 verify/s=24673.8" in lines
    assert "refresh grants/s ÷ OpenSSL RSA-2048 sign/s (one core)  = 0.90" in lines
    assert "registrations/s ÷ OpenSSL RSA-2048 sign/s (one core)   = 0.56" in lines
    assert ("authenticated ÷ unauthenticated MCP tools/list         = 0.94"
            "  (target >= 0.90; same request bytes)") in lines
    assert "authenticated ÷ unauthenticated, baseline without the Authorization header = 0.88" in lines
    assert ("authenticated tools/call (whoami) ÷ authenticated tools/list = 0.80"
            "  (target: tools/list's cost plus the tool's own work)") in lines
    assert ("authenticated ÷ unauthenticated tools/list per pair (2 of 2 pairs): 0.94 0.94"
            "  (min 0.94, median 0.94, max 0.94)") in lines
    assert lines[-1].startswith("(wrk, PostgreSQL and the servers share this machine's ")


def test_codes_that_ran_out_make_the_exchange_rate_a_floor(tmp_path, capsys):
    logs = write_logs(tmp_path, {"code_exchange": wrk("750.0", n=3000, ok=3000)}, SPEED)
    (tmp_path / "codes-minted.txt").write_text("3000\n")
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert ("code exchanges/s ÷ OpenSSL RSA-2048 sign/s (one core)  = 1.02"
            "  (n=3000 2xx=3000 4xx=0 5xx=0 sockerr=0)  CODES RAN OUT: the rate is a floor") in lines


def test_a_failed_run_and_a_missing_baseline(tmp_path, capsys):
    logs = write_logs(tmp_path, {"register": "unable to connect to 127.0.0.1:19000\n",
                                 "mcp_auth_1": wrk("300.0"), "mcp_noauth_1": wrk("600.0")}, "")
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert lines[2] == "register                                  0         -         -        -       -  wrk failed"
    assert lines[3].startswith("refresh ") and lines[3].endswith("wrk failed")
    assert "baseline: openssl speed rsa2048 on one core: sign/s= verify/s=" in lines
    assert "refresh grants/s ÷ OpenSSL RSA-2048 sign/s (one core)  = n/a" in lines
    assert ("authenticated ÷ unauthenticated MCP tools/list         = 0.50"
            "  (target >= 0.90; same request bytes)") in lines
    assert "authenticated ÷ unauthenticated, baseline without the Authorization header = n/a" in lines


def test_more_pairs_show_their_spread(tmp_path, capsys):
    """PAIRS=4: every pair is a row, the ratio is over all of them, and the worst pair is shown."""
    logs = write_logs(tmp_path, {
        "mcp_noauth_1": wrk("1000.0"), "mcp_auth_1": wrk("950.0"), "mcp_noauth_2": wrk("1000.0"), "mcp_auth_2": wrk("800.0"),
        "mcp_noauth_3": wrk("1000.0"), "mcp_auth_3": wrk("990.0"), "mcp_noauth_4": wrk("1000.0"), "mcp_auth_4": wrk("920.0"),
        "mcp_noauth_no_header": wrk("1100.0"), "mcp_call_auth": wrk("700.0"),
    }, SPEED)
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines[4:12]] == [f"mcp_{kind}_{i}" for i in range(1, 5) for kind in ("noauth", "auth")]
    assert lines[12].startswith("mcp_noauth_no_header ")
    assert ("authenticated ÷ unauthenticated MCP tools/list         = 0.92"
            "  (target >= 0.90; same request bytes)") in lines
    assert ("authenticated ÷ unauthenticated tools/list per pair (4 of 4 pairs): 0.95 0.80 0.99 0.92"
            "  (min 0.80, median 0.94, max 0.99)") in lines
    assert "authenticated ÷ unauthenticated, baseline without the Authorization header = 0.83" in lines
    assert ("authenticated tools/call (whoami) ÷ authenticated tools/list = 0.77"
            "  (target: tools/list's cost plus the tool's own work)") in lines


def test_a_paced_row_that_fell_behind_says_so(tmp_path, capsys):
    logs = write_logs(tmp_path, {"refresh": wrk("250.0", "120.00", "180.00"),
                                 "refresh_paced": wrk("240.0", "110.00", "170.00")}, SPEED)
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert ("refresh p99 at 32 connections paced at 293/s (the 0.40 × sign bar) = 170.00 ms (target < 50;"
            " p50 110.00 ms; 240.0/s reached, BEHIND THE PACE: closed-loop)") in lines


def test_steal_and_the_servers_own_cpu_per_request(tmp_path, capsys):
    logs = write_logs(tmp_path, {"mcp_noauth_1": wrk("5000.0", n=40000, ok=40000), "mcp_auth_1": wrk("4000.0", n=32000, ok=32000),
                                 "mcp_noauth_2": wrk("4500.0", n=36000, ok=36000), "mcp_auth_2": wrk("4400.0", n=35200, ok=35200)}, SPEED)
    # 100 ticks per second: 640 ticks over 40,000 requests is 160 µs each; 576 over 32,000 is 180 µs.
    for name, server, steal in [("mcp_noauth_1", 640, 160), ("mcp_auth_1", 576, 480), ("mcp_noauth_2", 576, 200),
                                ("mcp_auth_2", 616, 200)]:
        (tmp_path / f"cpu-{name}.txt").write_text(
            f"steal_ticks={steal} total_ticks=1600 server_ticks={server} ticks_per_second=100\n")
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert lines[5] == ("mcp_auth_1                           4000.0      1.40      4.02       30     180"
                        "  n=32000 2xx=32000 4xx=0 5xx=0 sockerr=0")
    assert ("authenticated ÷ unauthenticated tools/list per pair (2 of 2 pairs): 0.80 0.98"
            "  (min 0.80, median 0.89, max 0.98)") in lines
    # 160 ÷ 180 and 160 ÷ 175: the first pair's 0.80 was the hypervisor's 30 % steal, not the server's work.
    assert ("the same by the server's own CPU per request, auth-off µs ÷ authenticated µs (2 of 2 pairs): 0.89 0.91"
            "  (min 0.89, median 0.90, max 0.91)") in lines


def test_a_pace_below_the_bar_says_why(tmp_path, capsys):
    logs = write_logs(tmp_path, {"refresh": wrk("250.0", "120.00", "180.00"),
                                 "refresh_paced": wrk("199.0", "9.00", "30.00")}, SPEED)
    (tmp_path / "pace.txt").write_text("200\n")
    report.main(logs)
    lines = capsys.readouterr().out.splitlines()
    assert ("refresh p99 at 32 connections paced at 200/s (0.8 × the saturated rate; the 0.40 × sign bar is 293/s)"
            " = 30.00 ms (target < 50; p50 9.00 ms; 199.0/s reached)") in lines
