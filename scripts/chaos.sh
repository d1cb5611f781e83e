#!/usr/bin/env bash
# `make chaos`: the fault scenarios of Tests/chaos, loopback only, bounded (20 minutes at most).
# Each scenario starts what it breaks (its own PostgreSQL cluster when it restarts one, its own
# AuthServer and ResourceServer), prints one `chaos:` line of figures and fails on its bar.
# The short ones (pytest marker `short`) also run in `make test`.
#   CHAOS_FAMILIES (1000): token families in the refresh storm.
#   CHAOS_SOAK_SECONDS (600): length of the soak.
#   CHAOS_SCHEMATHESIS_EXAMPLES (100): schemathesis cases per operation (25 in `make test`).
#   FUZZ_RUNS, FUZZ_MAX_SECONDS (30 here, or less to stay inside the 20 minutes): the fuzz
#   harnesses' inputs and time cap (scripts/fuzz.sh).
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT" || exit 1

# The failover scenario's HA stack: Patroni, etcd and HAProxy, all Debian packages.
"$ROOT/scripts/ensure-packages.sh" python3-venv patroni etcd-server haproxy || exit 1
# shellcheck disable=SC2317  # run by the EXIT trap
cleanup() { if [ -n "${STARTED_PG_DIR:-}" ]; then "$ROOT/scripts/postgres.sh" stop "$STARTED_PG_DIR"; fi; }
trap cleanup EXIT
fresh_private_database "$DATA/chaos-postgres" "${GATEHOUSE_CHAOS_PG_PORT:-54333}" gatehouse_chaos || exit 1

log "building (debug)"
swift build 2>&1 | grep -v "unhandled\|CMakeLists.txt" | tail -1
# The harnesses too, before the clock starts: the 20 minutes are for running, not compiling.
FUZZ_STAGE=build "$ROOT/scripts/fuzz.sh" || exit 1
ensure_venv
BUDGET=1200
started=$SECONDS
GATEHOUSE_BIN="$(swift build --show-bin-path)"
export GATEHOUSE_BIN GATEHOUSE_CHAOS_FAMILIES="${CHAOS_FAMILIES:-1000}" GATEHOUSE_CHAOS_SOAK_SECONDS="${CHAOS_SOAK_SECONDS:-600}" \
  GATEHOUSE_CHAOS_SCHEMATHESIS_EXAMPLES="${CHAOS_SCHEMATHESIS_EXAMPLES:-100}" GATEHOUSE_CHAOS_LOGS="$DATA/chaos-logs"
# The scenarios may take all but a minute of the budget, which the six harnesses get at least.
timeout --kill-after=30 $((BUDGET - 60)) "$VENV/bin/python" -m pytest -q -p no:cacheprovider -s Tests/chaos 2>&1 | tee "$DATA/chaos.log"
status=${PIPESTATUS[0]}
# Hostile input: the libFuzzer harnesses (scripts/fuzz.sh), each 30 s at most, or its share of
# what is left of the budget.
left=$((BUDGET - (SECONDS - started) - 15))
share=$((left / 6)); [ "$share" -gt 30 ] && share=30; [ "$share" -lt 5 ] && share=5
FUZZ_STAGE=run FUZZ_MAX_SECONDS="${FUZZ_MAX_SECONDS:-$share}" "$ROOT/scripts/fuzz.sh" 2>&1 | tee "$DATA/chaos-fuzz.log"
fuzz_status=${PIPESTATUS[0]}
log "figures:"; grep -h '^chaos:\|^fuzz:' "$DATA/chaos.log" "$DATA/chaos-fuzz.log" || true
log "ran for $((SECONDS - started)) s of the ${BUDGET} s budget (builds before it not counted)"
[ "$status" -eq 0 ] || exit "$status"
exit "$fuzz_status"
