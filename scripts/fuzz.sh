#!/usr/bin/env bash
# `make fuzz` (also run by `make chaos`): the libFuzzer harnesses of Fuzz/ (docs/testing.md
# "Fuzzing"), each a fixed number of inputs from a copy of its committed seed corpus, failing on
# any crash, sanitizer report, broken invariant, leak or timeout. Builds with
# `-sanitize=fuzzer,address` into .build-fuzz (GATEHOUSE_FUZZ=1 declares the harnesses in
# Package.swift), so the normal .build is never touched. One `fuzz:` line of figures per harness.
#   FUZZ_RUNS (200000): inputs per harness (libFuzzer -runs).
#   FUZZ_MAX_SECONDS (120): cap per harness (-max_total_time); a harness stopped by it says so.
#   FUZZ_SEED (14): libFuzzer's random seed, so a run can be repeated.
#   FUZZ_TARGETS (all six): e.g. "FuzzJWT FuzzForm".
#   FUZZ_STAGE (all): "build" only builds the harnesses, "run" only runs them (make chaos builds
#   first, so that its 20-minute bound is spent running, not compiling).
set -uo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT" || exit 1

# Harness → its seed corpus under Fuzz/corpus/.
declare -A CORPUS=(
  [FuzzJWT]=jwt [FuzzForm]=form [FuzzJSONRPC]=jsonrpc
  [FuzzClientMetadata]=client-metadata [FuzzRedirectURI]=redirect-uri [FuzzConfig]=config
)
read -r -a TARGETS <<< "${FUZZ_TARGETS:-FuzzJWT FuzzForm FuzzJSONRPC FuzzClientMetadata FuzzRedirectURI FuzzConfig}"
RUNS="${FUZZ_RUNS:-200000}"
MAX_SECONDS="${FUZZ_MAX_SECONDS:-120}"
SEED="${FUZZ_SEED:-14}"
SCRATCH="$ROOT/.build-fuzz"
WORK="$DATA/fuzz"
export GATEHOUSE_FUZZ=1

for target in "${TARGETS[@]}"; do
  [ -n "${CORPUS[$target]:-}" ] || { log "unknown harness $target (expected one of ${!CORPUS[*]})"; exit 2; }
done

STAGE="${FUZZ_STAGE:-all}"
if [ "$STAGE" != run ]; then
  log "building the harnesses (-sanitize=fuzzer,address, into .build-fuzz)"
  started=$SECONDS
  for target in "${TARGETS[@]}"; do
    swift build --scratch-path "$SCRATCH" --product "$target" 2>&1 \
      | grep -v "unhandled\|CMakeLists.txt\|warning: Cannot export local symbol" | grep -E "error|warning: |Compiling|Build" | tail -3
    [ "${PIPESTATUS[0]}" -eq 0 ] || { log "build of $target failed"; exit 1; }
  done
  log "built in $((SECONDS - started)) s"
fi
[ "$STAGE" = build ] && exit 0
BIN="$(swift build --scratch-path "$SCRATCH" --show-bin-path)"

rm -rf "$WORK"
mkdir -p "$WORK/artifacts"
failed=()
for target in "${TARGETS[@]}"; do
  corpus="$WORK/corpus/${CORPUS[$target]}"
  mkdir -p "$corpus"
  cp "$ROOT/Fuzz/corpus/${CORPUS[$target]}"/* "$corpus/"
  seeds=$(find "$corpus" -type f | wc -l)
  output="$WORK/$target.log"
  # -timeout: one input taking 10 s is a hang; -rss_limit_mb: a memory blow-up is a failure too.
  "$BIN/$target" -runs="$RUNS" -max_total_time="$MAX_SECONDS" -seed="$SEED" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$WORK/artifacts/$target-" "$corpus" > "$output" 2>&1
  status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$output")
  speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$output")
  rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$output")
  last=$(grep -E '^#[0-9]+' "$output" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$last")
  features=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
  units=$(sed -n 's/.* corp: \([0-9]*\/[0-9a-zA-Z]*\).*/\1/p' <<< "$last")
  capped=""
  [ -n "$runs" ] && [ "$runs" -lt "$RUNS" ] && [ "$status" -eq 0 ] && capped=" (stopped by the ${MAX_SECONDS} s cap)"
  echo "fuzz: $target runs=${runs:-?}/$RUNS exec/s=${speed:-?} corpus=${units:-?} (seeds $seeds) cov=${cov:-?} ft=${features:-?} peak_rss_mb=${rss:-?} status=$status$capped"
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    grep -E "invariant broken|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|Fatal error|SUMMARY" "$output" | head -5
    for artifact in "$WORK/artifacts/$target-"*; do
      [ -e "$artifact" ] || continue
      log "reproduce: GATEHOUSE_FUZZ=1 swift build --scratch-path .build-fuzz --product $target && $BIN/$target $artifact"
    done
    log "full output: $output"
  fi
done

if [ ${#failed[@]} -gt 0 ]; then log "fuzzing FAILED: ${failed[*]}"; exit 1; fi
log "fuzzing passed: ${#TARGETS[@]} harnesses, no crash"
