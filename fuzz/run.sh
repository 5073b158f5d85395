#!/usr/bin/env bash
# Fuzzes each target for N minutes, at most two at a time, at low priority:
#   cmake --preset fuzz && cmake --build --preset fuzz
#   fuzz/run.sh [-m MINUTES] [-j JOBS] [-b BUILD_DIR] [TARGET...]     (default: 10 minutes, 2 jobs, build-fuzz, all)
# The growing corpus is BUILD_DIR/fuzz-corpus/<target>/ (seeded from fuzz/corpus/<target>/), crash inputs land in
# BUILD_DIR/fuzz-crashes/<target>/ and each run's log in BUILD_DIR/fuzz-logs/<target>.log; the last lines of
# every log (executions, coverage, corpus size) are printed at the end. Copy a crash input to
# fuzz/crashes/<target>/ once it is fixed: the replay tests then run it on every build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
minutes=10 jobs=2 build="$root/build-fuzz"
while getopts "m:j:b:" o; do
  case $o in
    m) minutes=$OPTARG ;; j) jobs=$OPTARG ;; b) build=$(cd "$OPTARG" && pwd) ;;
    *) sed -n 2,8p "$0"; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=($(sed -n '/^set(LOGITSCOPE_FUZZ_TARGETS/,/)/p' "$root/fuzz/targets.cmake" | sed 's/set(LOGITSCOPE_FUZZ_TARGETS//; s/)//'))
fi
mkdir -p "$build/fuzz-logs"
run_one() {
  local t=$1
  mkdir -p "$build/fuzz-corpus/$t" "$build/fuzz-crashes/$t"
  # -timeout: an input that takes 10 s is a hang; -rss_limit_mb: a file that makes us allocate 2 GB is a bug.
  nice -n 10 "$build/fuzz_$t" -max_total_time=$((minutes * 60)) -timeout=10 -rss_limit_mb=2048 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$build/fuzz-crashes/$t/" \
    "$build/fuzz-corpus/$t" "$root/fuzz/corpus/$t" > "$build/fuzz-logs/$t.log" 2>&1 || true
}
running=0
for t in "${targets[@]}"; do
  [ -x "$build/fuzz_$t" ] || { echo "no $build/fuzz_$t: build the fuzz preset first" >&2; exit 2; }
  run_one "$t" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then wait -n; running=$((running - 1)); fi
done
wait
for t in "${targets[@]}"; do
  echo "== $t: $(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$build/fuzz-logs/$t.log" | tail -1)"
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$build/fuzz-logs/$t.log" || true
  ls "$build/fuzz-crashes/$t" 2>/dev/null | sed 's/^/   crash: /'
done
