# shellcheck shell=bash
# Shared by run.sh, test.sh and bench.sh (sourced, not run).
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DATA="$ROOT/.data"
mkdir -p "$DATA"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# A key-encryption key for development, kept under .data/ (ignored by git) so signing keys
# survive restarts. Production passes GATEHOUSE_KEK or GATEHOUSE_KEK_FILE instead.
ensure_dev_kek() {
  if [ -z "${GATEHOUSE_KEK:-}" ] && [ -z "${GATEHOUSE_KEK_FILE:-}" ]; then
    if [ ! -s "$DATA/kek" ]; then (umask 077; openssl rand -base64 32 > "$DATA/kek"); fi
    export GATEHOUSE_KEK_FILE="$DATA/kek"
  fi
}

# Starts the private cluster unless DATABASE_URL is set; exports DATABASE_URL.
ensure_database() {  # dir port
  if [ -z "${DATABASE_URL:-}" ]; then
    log "starting private PostgreSQL in $1 (port $2)"
    DATABASE_URL="$("$ROOT/scripts/postgres.sh" start "$1" "$2")"
    export DATABASE_URL
    # shellcheck disable=SC2034  # read by the scripts that source this one (their cleanup)
    STARTED_PG_DIR="$1"
  fi
}

# Unless DATABASE_URL is set: the private cluster in DIR, and a fresh database NAME in it (dropped
# first, with any EXTRA databases), so no run depends on what an earlier one left behind. Exports
# DATABASE_URL; the caller's EXIT trap stops the cluster (STARTED_PG_DIR).
fresh_private_database() {  # dir port name [extra-database…]
  if [ -n "${DATABASE_URL:-}" ]; then return 0; fi
  local dir="$1" port="$2" name="$3" base drops=()
  shift 3
  ensure_database "$dir" "$port" || return 1
  base="${DATABASE_URL%/*}"
  for db in "$name" "$@"; do drops+=(-c "DROP DATABASE IF EXISTS $db WITH (FORCE)"); done
  psql "$base/postgres" -qAt "${drops[@]}" -c "CREATE DATABASE $name OWNER gatehouse" || return 1
  export DATABASE_URL="$base/$name"
}

# The Python virtualenv with the official MCP SDK client (for end-to-end tests and tools).
ensure_venv() {
  local venv="$DATA/venv"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" 2>/dev/null || { "$ROOT/scripts/ensure-packages.sh" python3-venv; python3 -m venv "$venv"; }
  fi
  if ! "$venv/bin/python" -c 'import mcp, httpx, pytest, joserfc, selenium, schemathesis' 2>/dev/null; then
    log "installing the Python test tools (mcp, httpx, pytest, joserfc, selenium, schemathesis)"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$ROOT/Tests/e2e/requirements.txt"
  fi
  # shellcheck disable=SC2034  # read by the scripts that source this one
  VENV="$venv"
}

wait_for_url() {  # url seconds
  local deadline=$((SECONDS + $2))
  until curl -fsS -o /dev/null "$1" 2>/dev/null; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}
