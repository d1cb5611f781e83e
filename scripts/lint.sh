#!/usr/bin/env bash
# `make lint`: shellcheck on every shell script in the repository. A script is a tracked or new
# (not ignored) file named *.sh, or one whose first line is a bash/sh shebang (deploy/systemd/
# gatehouse-admin, .ci/run). Sourced files are followed from the scripts that source them.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

command -v shellcheck >/dev/null || "$ROOT/scripts/ensure-packages.sh" shellcheck
scripts=()
while IFS= read -r -d '' file; do
  [ -f "$file" ] || continue  # listed by git, deleted in the work tree
  case "$file" in
    *.sh) scripts+=("$file") ;;
    *) if head -n1 "$file" | grep -qE '^#!.*[/ ](ba)?sh([[:space:]]|$)'; then scripts+=("$file"); fi ;;
  esac
done < <(git ls-files -z --cached --others --exclude-standard)
log "shellcheck: ${#scripts[@]} scripts"
shellcheck --external-sources --source-path=SCRIPTDIR "${scripts[@]}"
