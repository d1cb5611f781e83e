#!/usr/bin/env bash
# `make bench`: load benchmark of a release build on loopback, bounded in time.
#   - registrations/s and refresh grants/s at the AuthServer, next to OpenSSL's own RSA-2048
#     signing rate measured in the same run (the ratio shows how close /token is to its signature);
#   - the refresh grant again at 4 connections, and at 32 connections paced at 0.40 × that rate or
#     0.8 × the saturated row's, whichever is lower (bench/pace.lua): a refresh's latency when the
#     server keeps up, beside the saturated row's;
#   - authenticated MCP tools/list at the ResourceServer, next to the same server with
#     authentication switched off (target: at least 90 %).
# Env: PIN (1: the tools/list pairs and tools/call with the servers on CPU 0 and wrk on CPU 1),
# DURATION (10 s, max 60), CONNS (32, max 256), THREADS (2), PAIRS (4, max 10: how many times the
# authenticated / auth-off tools/list pair runs, to show its spread). Client and servers share the
# machine's cores, so absolute numbers are a floor; the ratios are the point.
# The release build has its own scratch folder (.build-release) so it never waits on the debug one.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
DURATION="${DURATION:-10}"; CONNS="${CONNS:-32}"; THREADS="${THREADS:-2}"; PAIRS="${PAIRS:-4}"
[ "$DURATION" -le 60 ] || DURATION=60
[ "$PAIRS" -ge 1 ] && [ "$PAIRS" -le 10 ] || PAIRS=4
[ "$CONNS" -le 256 ] || CONNS=256

"$ROOT/scripts/ensure-packages.sh" wrk python3-venv
log "building (release)"
swift build -c release --scratch-path "$ROOT/.build-release" --product AuthServer 2>&1 | grep -v "unhandled\|CMakeLists" | tail -1
swift build -c release --scratch-path "$ROOT/.build-release" --product ResourceServer 2>&1 | grep -v "unhandled\|CMakeLists" | tail -1
BIN="$(swift build -c release --scratch-path "$ROOT/.build-release" --show-bin-path)"
ensure_venv

# OpenSSL's own rate first, on the quiet machine: the paced refresh row below is offered 0.40 × it.
log "measuring OpenSSL's own RSA-2048 rate (one core, 3 s)"
LOGS="$DATA/bench-logs"; mkdir -p "$LOGS"
timeout 60 openssl speed -seconds 3 rsa2048 > "$LOGS/openssl-speed.txt" 2>/dev/null || true
SIGN_RATE="$(cd "$ROOT/bench" && "$VENV/bin/python" -c "import report; print(report.number(report.parse_openssl_speed(open('$LOGS/openssl-speed.txt').read())[0]))")"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${STARTED_PG_DIR:-}" ]; then "$ROOT/scripts/postgres.sh" stop "$STARTED_PG_DIR"; fi
}
trap cleanup EXIT
unset DATABASE_URL
fresh_private_database "$DATA/bench-postgres" 54331 gatehouse_bench
GATEHOUSE_KEK="$(openssl rand -base64 32)"
export GATEHOUSE_KEK GATEHOUSE_LOG_LEVEL=warning
# The rate limits are for abuse, and the benchmark is one address with a few busy clients: off, so
# the rows measure capacity (docs/benchmarks.md reports the token limit's own cost separately).
export GATEHOUSE_RATE_LIMIT_REGISTRATIONS_PER_HOUR=0 GATEHOUSE_RATE_LIMIT_TOKEN_REQUESTS_PER_MINUTE=0 \
  GATEHOUSE_RATE_LIMIT_AUTHORIZE_REQUESTS_PER_MINUTE=0
export GATEHOUSE_ISSUER=http://127.0.0.1:19000 GATEHOUSE_MCP_RESOURCE=http://127.0.0.1:18000/mcp

# Both services read one config file: the built-in tools at /mcp (the rows above), and two gateway
# resources: /mcp/upstream in front of the auth-off ResourceServer below (a fast upstream, so the
# ratio measures the gateway), and /mcp/stdio running the tests' MCP Python SDK server per user.
CONFIG="$LOGS/gatehouse.yaml"
cat > "$CONFIG" <<YAML
resources:
  - path: /mcp
    builtin: notes
  - path: /mcp/upstream
    name: Bench upstream
    scopes: {upstream:call: Call the upstream's tools}
    tools: {"*": [upstream:call]}
    upstream:
      http: {url: "http://127.0.0.1:18001/mcp"}
  - path: /mcp/stdio
    name: Bench stdio
    scopes: {stdio:call: Call the stdio server's tools}
    tools: {"*": [stdio:call]}
    upstream:
      stdio:
        command: ["$VENV/bin/python", "$ROOT/Tests/e2e/upstreams/stdio_upstream.py"]
        per_user: true
YAML
# Start-up: from exec to the first 200 from /readyz (the AuthServer's includes migrating the fresh
# database), then each process's resident memory while idle.
ready_ms() {  # port start-ns
  local deadline=$((SECONDS + 60))
  until curl -fsS -o /dev/null "http://127.0.0.1:$1/readyz" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && { echo -1; return; }
    sleep 0.01
  done
  echo $(( ($(date +%s%N) - $2) / 1000000 ))
}
rss_mib() { awk '/^VmRSS:/ { printf "%d", $2 / 1024 }' "/proc/$1/status"; }
started=$(date +%s%N)
GATEHOUSE_CONFIG="$CONFIG" GATEHOUSE_AUTH_PORT=19000 "$BIN/AuthServer" serve > "$LOGS/auth.log" 2>&1 & PIDS+=($!)
AUTH_PID=$!
AUTH_READY_MS="$(ready_ms 19000 "$started")"
started=$(date +%s%N)
GATEHOUSE_CONFIG="$CONFIG" GATEHOUSE_RS_PORT=18000 "$BIN/ResourceServer" serve > "$LOGS/rs.log" 2>&1 & PIDS+=($!)
RS_PID=$!
RS_READY_MS="$(ready_ms 18000 "$started")"
sleep 2
printf '{"auth_ready_ms": %s, "rs_ready_ms": %s, "auth_idle_rss_mib": %s, "rs_idle_rss_mib": %s}\n' \
  "$AUTH_READY_MS" "$RS_READY_MS" "$(rss_mib "$AUTH_PID")" "$(rss_mib "$RS_PID")" > "$LOGS/startup.json"
# The baseline: the same server with authentication switched off, on another port.
GATEHOUSE_RS_PORT=18001 GATEHOUSE_MCP_RESOURCE=http://127.0.0.1:18001/mcp GATEHOUSE_INSECURE_DISABLE_AUTH=true \
  "$BIN/ResourceServer" serve > "$LOGS/rs-noauth.log" 2>&1 & PIDS+=($!)
NOAUTH_PID=$!
for port in 19000 18000 18001; do wait_for_url "http://127.0.0.1:$port/readyz" 60 || { log "port $port not ready"; exit 1; }; done

PASSWORD="$(openssl rand -base64 18)"
printf '%s\n' "$PASSWORD" | "$BIN/AuthServer" users create bench --password-stdin >/dev/null
log "minting $((CONNS * 4 + 8)) refresh tokens through the real flow"
"$VENV/bin/python" bench/mint.py "$GATEHOUSE_ISSUER" "$GATEHOUSE_MCP_RESOURCE" bench "$PASSWORD" $((CONNS * 4 + 8)) > "$LOGS/mint.json"
field() { "$VENV/bin/python" -c "import json,sys; print(json.load(open('$LOGS/mint.json'))['$1'])"; }
# One set per refresh row: a token rotated in one row would be a reuse in the next. Two tokens per
# connection, as the rows have always had: the paced row, given one, ran its threads' pools dry
# (wrk's delayed sends; a Python client chaining 1,200 refreshes, each presenting the token the
# answer before it had just issued, saw no refusal) and counted its "pool-exhausted" sends as 4xx.
tokens() { "$VENV/bin/python" -c "import json; print('\n'.join(json.load(open('$LOGS/mint.json'))['refresh_tokens'][$1]))"; }
tokens ":$((CONNS * 2))" > "$LOGS/refresh_tokens.txt"
tokens "$((CONNS * 2)):$((CONNS * 4))" > "$LOGS/refresh_tokens_paced.txt"
tokens "-8:" > "$LOGS/refresh_tokens_c4.txt"
ORIGIN=http://127.0.0.1:18000
"$VENV/bin/python" bench/mint.py "$GATEHOUSE_ISSUER" "$ORIGIN/mcp/upstream" bench "$PASSWORD" 1 > "$LOGS/mint-upstream.json"
GATEWAY_TOKEN="$("$VENV/bin/python" -c "import json; print(json.load(open('$LOGS/mint-upstream.json'))['access_token'])")"
# stdio: one user per process, so five people, each with a token of their own.
for i in 1 2 3 4 5; do
  printf '%s\n' "$PASSWORD" | "$BIN/AuthServer" users create "stdio$i" --password-stdin >/dev/null
  "$VENV/bin/python" bench/mint.py "$GATEHOUSE_ISSUER" "$ORIGIN/mcp/stdio" "stdio$i" "$PASSWORD" 1 > "$LOGS/mint-stdio$i.json"
done
"$VENV/bin/python" -c "import json; print(json.dumps([json.load(open('$LOGS/mint-stdio%d.json' % i))['access_token'] for i in range(1, 6)]))" > "$LOGS/stdio-tokens.json"

export BENCH_DIR="$ROOT/bench" WRK_THREADS="$THREADS"
# Each row's wrk output goes to $LOGS/wrk-<row>.txt; bench/report.py reads the RESULT lines
# (bench/stats.lua) from there. A run without one is shown here and reported as "wrk failed".
# Beside each row, $LOGS/cpu-<row>.txt: the share of the machine's CPU time the hypervisor stole
# during it (/proc/stat's steal column; 14-49 % was seen on this VM under load, and it moves the
# rates more than anything measured), and with SERVER_PID, that process's own CPU time
# (utime + stime, which steal never counts), so report.py can divide it by the requests served.
steal_and_total() { awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat; }
process_ticks() { if [ -n "${SERVER_PID:-}" ]; then awk '{ print $14 + $15 }' "/proc/$SERVER_PID/stat"; else echo 0; fi; }
run() {  # name url script
  local out="$LOGS/wrk-$1.txt" steal0 total0 steal1 total1 ticks0 ticks1
  read -r steal0 total0 < <(steal_and_total); ticks0="$(process_ticks)"
  timeout $((DURATION + 30)) ${WRK_CPU:+taskset -c "$WRK_CPU"} wrk -t"${THREADS}" -c"${CONNS}" -d"${DURATION}s" --timeout 5s -s "bench/$3" "$2" > "$out" 2>&1
  read -r steal1 total1 < <(steal_and_total); ticks1="$(process_ticks)"
  echo "steal_ticks=$((steal1 - steal0)) total_ticks=$((total1 - total0)) server_ticks=$((ticks1 - ticks0)) ticks_per_second=$(getconf CLK_TCK)" > "$LOGS/cpu-$1.txt"
  grep -q '^RESULT' "$out" || cat "$out" >&2
}
rm -f "$LOGS"/wrk-*.txt "$LOGS"/cpu-*.txt
log "running wrk: $THREADS threads, $CONNS connections, ${DURATION}s per row"
# Each AuthServer row starts from a checkpointed database, so none pays for the WAL the one before
# it wrote; and the registrations row, which writes thousands of clients, runs last of them
# (docs/benchmarks.md, "Refresh grants").
# (The private cluster's superuser, which CHECKPOINT needs, is `postgres`, trusted on loopback.)
settle() { psql "postgres://postgres@127.0.0.1:54331/postgres" -qAtc "CHECKPOINT" >/dev/null || log "CHECKPOINT failed"; sleep 1; }
settle
export SERVER_PID="$AUTH_PID"  # the AuthServer rows: its CPU per request
CLIENT_ID="$(field client_id)" RESOURCE="$GATEHOUSE_MCP_RESOURCE" REFRESH_TOKENS="$LOGS/refresh_tokens.txt" \
  run refresh http://127.0.0.1:19000 refresh.lua
# The same at 4 connections: a refresh's own latency, with little queueing in front of it.
settle
CONNS=4 CLIENT_ID="$(field client_id)" RESOURCE="$GATEHOUSE_MCP_RESOURCE" REFRESH_TOKENS="$LOGS/refresh_tokens_c4.txt" \
  run refresh_c4 http://127.0.0.1:19000 refresh.lua
# The same 32 connections offered the bar's own rate, 0.40 × the sign rate, or 0.8 × the rate the
# saturated row reached if that is lower (bench/pace.lua): the latency of a refresh when the
# server keeps up, where the saturated row above shows queueing.
settle
SATURATED_RATE="$(cd "$ROOT/bench" && "$VENV/bin/python" -c "import report; print(report.parse_result(open('$LOGS/wrk-refresh.txt').read()).rate)")"
PACE_RPS="$(awk -v s="$SIGN_RATE" -v r="${SATURATED_RATE:-0}" 'BEGIN { p = 0.40 * s; if (r > 0 && 0.8 * r < p) p = 0.8 * r; printf "%d", p }')"
echo "$PACE_RPS" > "$LOGS/pace.txt"
PACE_RPS="$PACE_RPS" CLIENT_ID="$(field client_id)" \
  RESOURCE="$GATEHOUSE_MCP_RESOURCE" REFRESH_TOKENS="$LOGS/refresh_tokens_paced.txt" \
  run refresh_paced http://127.0.0.1:19000 refresh.lua
# Authorization-code exchanges: one signature each, like a refresh. Codes are single use and live
# 60 s, so they are minted right before the row (3,000 take about 40 s), and the row runs 4 s: up to
# 750 exchanges/s before the codes run out (a thread stops when its share is spent, and the rate is
# then capped at what was minted, so the report says when that happened).
CODES_COUNT=3000
log "minting $CODES_COUNT authorization codes through the real flow"
"$VENV/bin/python" bench/mint_codes.py "$GATEHOUSE_ISSUER" "$GATEHOUSE_MCP_RESOURCE" bench "$PASSWORD" "$CODES_COUNT" > "$LOGS/mint-codes.json"
code_field() { "$VENV/bin/python" -c "import json; print(json.load(open('$LOGS/mint-codes.json'))['$1'])"; }
"$VENV/bin/python" -c "import json; print('\n'.join(json.load(open('$LOGS/mint-codes.json'))['codes']))" > "$LOGS/codes.txt"
settle
CLIENT_ID="$(code_field client_id)" RESOURCE="$GATEHOUSE_MCP_RESOURCE" CODES="$LOGS/codes.txt" \
  CODE_VERIFIER="$(code_field code_verifier)" REDIRECT_URI="$(code_field redirect_uri)" \
  DURATION=4 run code_exchange http://127.0.0.1:19000 code_exchange.lua
echo "$CODES_COUNT" > "$LOGS/codes-minted.txt"
settle
run register http://127.0.0.1:19000 register.lua
unset SERVER_PID
# PAIRS pairs of MCP rows, in ABBA order (auth-off first in odd pairs, authenticated first in even
# ones), so drift on a shared machine hits both equally; report.py shows each pair's ratio. The
# auth-off baseline gets the very same request bytes (its server ignores the header), so the ratio
# isolates the cost of validating; a header-less row shows what carrying an 800-byte token costs on top.
TOKEN="$(field access_token)"
# PIN (1, with 2 or more cores): for the tools/list pairs and the tools/call row, both
# ResourceServers run on CPU 0 and wrk on CPU 1, so a row measures what a request costs the server
# rather than how the scheduler shared two cores among wrk's and the server's threads that second
# (unpinned, the same pair has read anywhere from 0.84 to 1.04; docs/benchmarks.md). The rates of
# these rows are then one core's. The gateway rows after them run unpinned again.
ALL_CPUS="0-$(($(nproc) - 1))"
# Everything else moves off CPU 0 while it is pinned: PostgreSQL (its postmaster and every backend,
# autovacuum included, after the registrations row wrote thousands of clients) and the AuthServer.
others() {
  local postmaster; postmaster="$(head -1 "$DATA/bench-postgres/postmaster.pid" 2>/dev/null)"
  echo "$AUTH_PID"; [ -n "$postmaster" ] && { echo "$postmaster"; pgrep -P "$postmaster"; }
}
settle
psql "postgres://postgres@127.0.0.1:54331/gatehouse_bench" -qAtc "VACUUM ANALYZE" >/dev/null || log "VACUUM failed"
if [ "${PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ]; then
  taskset -a -p -c 0 "$RS_PID" >/dev/null && taskset -a -p -c 0 "$NOAUTH_PID" >/dev/null && WRK_CPU=1
  for pid in $(others); do taskset -a -p -c "1-$(($(nproc) - 1))" "$pid" >/dev/null 2>&1 || true; done
fi
for i in $(seq 1 "$PAIRS"); do
  if [ $((i % 2)) -eq 1 ]; then
    SERVER_PID="$NOAUTH_PID" ACCESS_TOKEN="$TOKEN" run "mcp_noauth_$i" http://127.0.0.1:18001 tools_list.lua
    SERVER_PID="$RS_PID" ACCESS_TOKEN="$TOKEN" run "mcp_auth_$i" http://127.0.0.1:18000 tools_list.lua
  else
    SERVER_PID="$RS_PID" ACCESS_TOKEN="$TOKEN" run "mcp_auth_$i" http://127.0.0.1:18000 tools_list.lua
    SERVER_PID="$NOAUTH_PID" ACCESS_TOKEN="$TOKEN" run "mcp_noauth_$i" http://127.0.0.1:18001 tools_list.lua
  fi
done
ACCESS_TOKEN="" run mcp_noauth_no_header http://127.0.0.1:18001 tools_list.lua
# tools/call of the built-in whoami (no database work), against the tools/list rows above.
SERVER_PID="$RS_PID" ACCESS_TOKEN="$TOKEN" run mcp_call_auth http://127.0.0.1:18000 tools_call.lua
if [ -n "${WRK_CPU:-}" ]; then
  taskset -a -p -c "$ALL_CPUS" "$RS_PID" >/dev/null; taskset -a -p -c "$ALL_CPUS" "$NOAUTH_PID" >/dev/null; WRK_CPU=""
  for pid in $(others); do taskset -a -p -c "$ALL_CPUS" "$pid" >/dev/null 2>&1 || true; done
fi
# The gateway: the same tools/call bytes to the upstream directly and through /mcp/upstream,
# alternated; then one connection each, whose p50 difference is the latency the gateway adds.
ACCESS_TOKEN="" run gateway_direct_1 http://127.0.0.1:18001 tools_call.lua
ACCESS_TOKEN="$GATEWAY_TOKEN" MCP_PATH=/mcp/upstream run gateway_1 http://127.0.0.1:18000 tools_call.lua
ACCESS_TOKEN="" run gateway_direct_2 http://127.0.0.1:18001 tools_call.lua
ACCESS_TOKEN="$GATEWAY_TOKEN" MCP_PATH=/mcp/upstream run gateway_2 http://127.0.0.1:18000 tools_call.lua
CONNS=1 THREADS=1 ACCESS_TOKEN="" run gateway_direct_c1 http://127.0.0.1:18001 tools_call.lua
CONNS=1 THREADS=1 ACCESS_TOKEN="$GATEWAY_TOKEN" MCP_PATH=/mcp/upstream run gateway_c1 http://127.0.0.1:18000 tools_call.lua

log "stdio gateway: first call per user, steady calls/s, memory (bench/stdio.py)"
timeout $((DURATION * 4 + 120)) "$VENV/bin/python" bench/stdio.py "$ORIGIN/mcp/stdio" "$RS_PID" "$LOGS/stdio-tokens.json" \
  "$DURATION" "$VENV/bin/python" "$ROOT/Tests/e2e/upstreams/stdio_upstream.py" > "$LOGS/stdio.json" || log "stdio bench failed"

"$VENV/bin/python" bench/report.py "$LOGS"
