#!/usr/bin/env bash
# `make bench`: load benchmark of a release build on loopback, bounded in time.
#   - registrations/s and refresh grants/s at the AuthServer, next to OpenSSL's own RSA-2048
#     signing rate measured in the same run (the ratio shows how close /token is to its signature);
#   - authenticated MCP tools/list at the ResourceServer, next to the same server with
#     authentication switched off (target: at least 90 %).
# Env: DURATION (10 s, max 60), CONNS (32, max 256), THREADS (2). Client and servers share the
# machine's cores, so absolute numbers are a floor; the ratios are the point.
# The release build has its own scratch folder (.build-release) so it never waits on the debug one.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"
DURATION="${DURATION:-10}"; CONNS="${CONNS:-32}"; THREADS="${THREADS:-2}"
[ "$DURATION" -le 60 ] || DURATION=60
[ "$CONNS" -le 256 ] || CONNS=256

"$ROOT/scripts/ensure-packages.sh" wrk python3-venv
log "building (release)"
swift build -c release --scratch-path "$ROOT/.build-release" --product AuthServer 2>&1 | grep -v "unhandled\|CMakeLists" | tail -1
swift build -c release --scratch-path "$ROOT/.build-release" --product ResourceServer 2>&1 | grep -v "unhandled\|CMakeLists" | tail -1
BIN="$(swift build -c release --scratch-path "$ROOT/.build-release" --show-bin-path)"
ensure_venv

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${STARTED_PG_DIR:-}" ]; then "$ROOT/scripts/postgres.sh" stop "$STARTED_PG_DIR"; fi
}
trap cleanup EXIT
unset DATABASE_URL
ensure_database "$DATA/bench-postgres" 54331
base="${DATABASE_URL%/*}"
psql "$base/postgres" -qAt -c "DROP DATABASE IF EXISTS gatehouse_bench WITH (FORCE)" -c "CREATE DATABASE gatehouse_bench OWNER gatehouse"
export DATABASE_URL="$base/gatehouse_bench"
export GATEHOUSE_KEK="$(openssl rand -base64 32)" GATEHOUSE_LOG_LEVEL=warning
export GATEHOUSE_ISSUER=http://127.0.0.1:19000 GATEHOUSE_MCP_RESOURCE=http://127.0.0.1:18000/mcp
LOGS="$DATA/bench-logs"; mkdir -p "$LOGS"

GATEHOUSE_AUTH_PORT=19000 "$BIN/AuthServer" serve > "$LOGS/auth.log" 2>&1 & PIDS+=($!)
GATEHOUSE_RS_PORT=18000 "$BIN/ResourceServer" serve > "$LOGS/rs.log" 2>&1 & PIDS+=($!)
# The baseline: the same server with authentication switched off, on another port.
GATEHOUSE_RS_PORT=18001 GATEHOUSE_MCP_RESOURCE=http://127.0.0.1:18001/mcp GATEHOUSE_INSECURE_DISABLE_AUTH=true \
  "$BIN/ResourceServer" serve > "$LOGS/rs-noauth.log" 2>&1 & PIDS+=($!)
for port in 19000 18000 18001; do wait_for_url "http://127.0.0.1:$port/readyz" 60 || { log "port $port not ready"; exit 1; }; done

PASSWORD="$(openssl rand -base64 18)"
printf '%s\n' "$PASSWORD" | "$BIN/AuthServer" users create bench --password-stdin >/dev/null
log "minting $((CONNS * 2)) refresh tokens through the real flow"
"$VENV/bin/python" bench/mint.py "$GATEHOUSE_ISSUER" "$GATEHOUSE_MCP_RESOURCE" bench "$PASSWORD" $((CONNS * 2)) > "$LOGS/mint.json"
field() { "$VENV/bin/python" -c "import json,sys; print(json.load(open('$LOGS/mint.json'))['$1'])"; }
"$VENV/bin/python" -c "import json; print('\n'.join(json.load(open('$LOGS/mint.json'))['refresh_tokens']))" > "$LOGS/refresh_tokens.txt"

export BENCH_DIR="$ROOT/bench" WRK_THREADS="$THREADS"
declare -A RPS P50 P99 DETAIL
run() {  # name url script
  local out line
  out="$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --timeout 5s -s "bench/$3" "$2" 2>&1)"
  line="$(grep '^RESULT' <<<"$out" || true)"
  [ -n "$line" ] || { echo "$out" >&2; RPS[$1]=0; P50[$1]=-; P99[$1]=-; DETAIL[$1]="wrk failed"; return; }
  eval "$(sed 's/^RESULT //' <<<"$line")"
  RPS[$1]=$rps; P50[$1]=$p50; P99[$1]=$p99; DETAIL[$1]="n=$n 2xx=$ok 4xx=$c4xx 5xx=$c5xx sockerr=$sockerr"
}
log "running wrk: $THREADS threads, $CONNS connections, ${DURATION}s per row"
run register http://127.0.0.1:19000 register.lua
CLIENT_ID="$(field client_id)" RESOURCE="$GATEHOUSE_MCP_RESOURCE" REFRESH_TOKENS="$LOGS/refresh_tokens.txt" \
  run refresh http://127.0.0.1:19000 refresh.lua
# Alternate the MCP rows so drift on a shared machine hits both equally. The auth-off baseline
# gets the very same request bytes (its server ignores the header), so the ratio isolates the
# cost of validating; a header-less row shows what carrying an 800-byte token costs on top.
TOKEN="$(field access_token)"
ACCESS_TOKEN="$TOKEN" run mcp_noauth_1 http://127.0.0.1:18001 tools_list.lua
ACCESS_TOKEN="$TOKEN" run mcp_auth_1 http://127.0.0.1:18000 tools_list.lua
ACCESS_TOKEN="$TOKEN" run mcp_noauth_2 http://127.0.0.1:18001 tools_list.lua
ACCESS_TOKEN="$TOKEN" run mcp_auth_2 http://127.0.0.1:18000 tools_list.lua
ACCESS_TOKEN="" run mcp_noauth_no_header http://127.0.0.1:18001 tools_list.lua

log "measuring OpenSSL's own RSA-2048 rate (one core, 3 s)"
read -r SIGN VERIFY < <(timeout 60 openssl speed -seconds 3 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ {print $(NF-1), $NF}')

printf '\n%-32s %10s %9s %9s  %s\n' workload req/s "p50 ms" "p99 ms" responses
for k in register refresh mcp_noauth_1 mcp_auth_1 mcp_noauth_2 mcp_auth_2 mcp_noauth_no_header; do
  printf '%-32s %10s %9s %9s  %s\n' "$k" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "${DETAIL[$k]}"
done
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
AUTH=$(awk -v a="${RPS[mcp_auth_1]}" -v b="${RPS[mcp_auth_2]}" 'BEGIN {print a + b}')
NOAUTH=$(awk -v a="${RPS[mcp_noauth_1]}" -v b="${RPS[mcp_noauth_2]}" 'BEGIN {print a + b}')
cat <<REPORT

baseline: openssl speed rsa2048 on one core: sign/s=$SIGN verify/s=$VERIFY
refresh grants/s ÷ OpenSSL RSA-2048 sign/s (one core)  = $(ratio "${RPS[refresh]}" "$SIGN")
registrations/s ÷ OpenSSL RSA-2048 sign/s (one core)   = $(ratio "${RPS[register]}" "$SIGN")
authenticated ÷ unauthenticated MCP tools/list         = $(ratio "$AUTH" "$NOAUTH")  (target >= 0.90; same request bytes)
authenticated ÷ unauthenticated, baseline without the Authorization header = $(ratio "$AUTH" "$(awk -v a="${RPS[mcp_noauth_no_header]}" 'BEGIN {print 2 * a}')")
(wrk, PostgreSQL and the servers share this machine's $(nproc) cores)
REPORT
