#!/usr/bin/env bash
# `make test`: the whole suite, on a fresh machine too. Installs what is missing, starts a
# private PostgreSQL unless DATABASE_URL is set, builds, then runs
#   1. the Swift tests (unit + integration over real PostgreSQL and real HTTP),
#   2. the end-to-end tests with the official MCP Python SDK client and headless Chromium,
#   3. the short fault scenarios of `make chaos`,
#   4. the deployment-recipe checks.
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT" || exit 1

"$ROOT/scripts/ensure-packages.sh" python3-venv nginx-light chromium chromium-driver || exit 1

PG_DIR="$DATA/test-postgres"
cleanup() { if [ -n "${STARTED_PG_DIR:-}" ]; then "$ROOT/scripts/postgres.sh" stop "$STARTED_PG_DIR"; fi; }
trap cleanup EXIT
fresh_private_database "$PG_DIR" "${GATEHOUSE_TEST_PG_PORT:-54330}" gatehouse_test gatehouse_test_authserver_tests || exit 1
log "database: $DATABASE_URL"

log "building (debug, with tests)"
swift build --build-tests 2>&1 | grep -v "unhandled\|CMakeLists.txt" || exit 1

ensure_venv
# The interop tests check our JOSE against joserfc, an independent implementation.
export GATEHOUSE_PYTHON="$VENV/bin/python"

failed=()
log "1/4 Swift tests"
# A hung test must fail the run, not eat CI's 90 minutes.
# Swift Testing starts every test at once; each server under test holds a database pool, and
# ~400 of them at once exhausted PostgreSQL's connections (a server that cannot start leaves its
# test waiting forever). 24 at a time keeps the run as fast and under ~100 connections.
export SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH="${SWT_EXPERIMENTAL_MAXIMUM_PARALLELIZATION_WIDTH:-24}"
timeout --kill-after=30 1200 swift test --skip-build || failed+=("swift test")

log "2/4 end-to-end tests (official MCP Python SDK client, headless Chromium, two replicas behind nginx)"
GATEHOUSE_BIN="$(swift build --show-bin-path)"
export GATEHOUSE_BIN
export GATEHOUSE_E2E_LOGS="$DATA/e2e-logs"
timeout --kill-after=30 900 "$VENV/bin/python" -m pytest -q -p no:cacheprovider Tests/e2e || failed+=("end-to-end")

log "3/4 the short fault scenarios of \`make chaos\` (PostgreSQL restart, AuthServer down, gateway faults, OpenAPI/schemathesis, slow clients, refresh storms)"
GATEHOUSE_CHAOS_LOGS="$DATA/chaos-logs" timeout --kill-after=30 600 "$VENV/bin/python" -m pytest -q -p no:cacheprovider -s \
  -m short Tests/chaos || failed+=("chaos (short)")

log "4/4 deployment recipes"
"$ROOT/scripts/validate-deploy.sh" || failed+=("deploy checks")

if [ ${#failed[@]} -gt 0 ]; then
  log "FAILED: ${failed[*]}"
  exit 1
fi
log "all test stages passed"
