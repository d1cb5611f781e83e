#!/usr/bin/env bash
# A private PostgreSQL cluster under the project folder, for `make run` and `make test`.
#   scripts/postgres.sh start DIR PORT   -> prints the DATABASE_URL on stdout
#   scripts/postgres.sh stop DIR
# initdb and postgres refuse to run as root, so as root the cluster runs as the distro's
# `postgres` user. Auth is `trust` on 127.0.0.1 only: a development and test convenience.
set -euo pipefail
cmd="${1:?start|stop}"; dir="${2:?data directory}"
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac  # postgres runs inside its data directory
# shellcheck disable=SC2012  # the names are PostgreSQL major versions: digits only
PGBIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
[ -n "$PGBIN" ] || { echo "PostgreSQL server binaries not found (apt-get install postgresql)" >&2; exit 1; }
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# As root the cluster belongs to `postgres`, which must be able to reach the data directory. A
# project cloned under a private folder (e.g. /root) is not reachable: then the cluster lives in
# /tmp instead, under a name derived from the project path, and this says so.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$(dirname "$dir")"
  if ! runuser -u postgres -- test -x "$(dirname "$dir")" 2>/dev/null; then
    alt="/tmp/gatehouse-pg-$(printf '%s' "$dir" | sha256sum | cut -c1-12)"
    [ "$cmd" = start ] && echo "note: $dir is not reachable by the postgres user; using $alt" >&2
    dir="$alt"
  fi
fi

case "$cmd" in
start)
  port="${3:?port}"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg "$PGBIN/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  fi
  if ! as_pg "$PGBIN/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
    as_pg "$PGBIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-k $dir -p $port -c listen_addresses=127.0.0.1 -c max_connections=500 ${PG_EXTRA_OPTS:-}" start >/dev/null
  fi
  psql() { as_pg /usr/bin/psql -h 127.0.0.1 -p "$port" -U postgres -qAt "$@"; }
  psql -c "SELECT 1 FROM pg_roles WHERE rolname='gatehouse'" | grep -q 1 || psql -c "CREATE ROLE gatehouse LOGIN CREATEDB"
  psql -c "SELECT 1 FROM pg_database WHERE datname='gatehouse'" | grep -q 1 || psql -c "CREATE DATABASE gatehouse OWNER gatehouse"
  echo "postgres://gatehouse@127.0.0.1:$port/gatehouse"
  ;;
stop)
  if [ -f "$dir/PG_VERSION" ]; then as_pg "$PGBIN/pg_ctl" -D "$dir" -m fast -w stop >/dev/null 2>&1 || true; fi
  ;;
*) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
