#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages Gatehouse needs when they are missing.
# Usage: scripts/ensure-packages.sh [extra-package ...]
set -euo pipefail
need=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for pkg in libssl-dev openssl "$@"; do have "$pkg" || need+=("$pkg"); done
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ -z "${DATABASE_URL:-}" ]; then
  need+=(postgresql)
fi
[ ${#need[@]} -eq 0 ] && exit 0
echo "installing missing packages: ${need[*]}" >&2
SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
