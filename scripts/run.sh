#!/usr/bin/env bash
# `make run`: builds and starts both services in the foreground. Ctrl-C or SIGTERM stops
# everything this script started.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

"$ROOT/scripts/ensure-packages.sh"
CONFIG="${CONFIG:-debug}"
log "building ($CONFIG)"
swift build -c "$CONFIG" --product AuthServer
swift build -c "$CONFIG" --product ResourceServer
BIN="$(swift build -c "$CONFIG" --show-bin-path)"

ensure_database "$DATA/postgres" "${GATEHOUSE_PG_PORT:-54329}"
ensure_dev_kek
export GATEHOUSE_ISSUER="${GATEHOUSE_ISSUER:-http://localhost:9000}"
export GATEHOUSE_MCP_RESOURCE="${GATEHOUSE_MCP_RESOURCE:-http://localhost:8000/mcp}"

PIDS=()
# shellcheck disable=SC2317  # reached through the EXIT trap
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${STARTED_PG_DIR:-}" ]; then "$ROOT/scripts/postgres.sh" stop "$STARTED_PG_DIR"; fi
}
trap cleanup EXIT
trap 'exit 0' INT TERM  # a requested stop is a clean exit; EXIT runs the cleanup

"$BIN/AuthServer" migrate
# The demo account: password from GATEHOUSE_DEMO_PASSWORD, or generated and printed once.
DEMO_PASSWORD="${GATEHOUSE_DEMO_PASSWORD:-}"
GENERATED=""
if [ -z "$DEMO_PASSWORD" ]; then DEMO_PASSWORD="$(openssl rand -base64 18 | tr -d '/+=' )"; GENERATED=1; fi
# An existing demo account gets the password (and, like set-password, loses its sessions).
printf '%s\n' "$DEMO_PASSWORD" | "$BIN/AuthServer" users create demo --password-stdin --update-existing >/dev/null

"$BIN/AuthServer" serve & PIDS+=($!)
"$BIN/ResourceServer" serve & PIDS+=($!)
wait_for_url "http://127.0.0.1:${GATEHOUSE_AUTH_PORT:-9000}/readyz" 60 || { log "AuthServer did not become ready"; exit 1; }
wait_for_url "http://127.0.0.1:${GATEHOUSE_RS_PORT:-8000}/readyz" 60 || { log "ResourceServer did not become ready"; exit 1; }

# With a config file the resources are its paths on the ResourceServer's origin (docs/gateway.md).
MCP_URLS="$GATEHOUSE_MCP_RESOURCE"
if [ -n "${GATEHOUSE_CONFIG:-}" ]; then
  origin="$(printf '%s' "$GATEHOUSE_MCP_RESOURCE" | sed -E 's#^(https?://[^/]+).*#\1#')"
  paths="$(sed -nE 's/^[[:space:]]*-[[:space:]]*path:[[:space:]]*"?([^"#[:space:]]+)"?.*/\1/p' "$GATEHOUSE_CONFIG")"
  MCP_URLS="$(for p in $paths; do printf '%s%s  ' "$origin" "$p"; done)"
fi

cat >&2 <<INFO

  Gatehouse is running.
    MCP server (paste this into ChatGPT, Claude or the MCP Inspector):  $MCP_URLS
    Authorization server:                                               $GATEHOUSE_ISSUER
    Sign in as:   demo / ${GENERATED:+$DEMO_PASSWORD (generated; set GATEHOUSE_DEMO_PASSWORD to choose)}${GENERATED:-the password in GATEHOUSE_DEMO_PASSWORD}
    Database:     $DATABASE_URL
  Ctrl-C stops everything.

INFO
wait -n "${PIDS[@]}"
log "a service exited"
exit 1
