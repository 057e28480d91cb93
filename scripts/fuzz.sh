#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan, UBSan) and fuzzes each for a
# number of seconds, then prints executions per second and totals.
#
#   scripts/fuzz.sh [-j N] [SECONDS] [TARGET...]
#
#   SECONDS   per target; 60 when not given (`scripts/fuzz.sh 600` is the
#             long run before a release)
#   TARGET    one of FM_FUZZ_TARGETS in tests/fuzz/CMakeLists.txt, the one
#             list of targets (default: all)
#   -j N      fuzz N targets at a time (default 1; each uses one core)
#
# The committed corpus (tests/fuzz/corpus/TARGET) is only read; what the
# fuzzer learns goes to BUILD/fuzz-corpus/TARGET and a crashing input to
# BUILD/fuzz-artifacts/.  BUILD is build-fuzz, or $FM_FUZZ_BUILD.
# Exits 1 when any target found something (see docs/fuzzing.md for what
# to do then), 2 on a usage error.
set -euo pipefail
cd "$(dirname "$0")/.."

read -r -a all < <(sed -n 's/^set(FM_FUZZ_TARGETS \(.*\))$/\1/p' tests/fuzz/CMakeLists.txt)
jobs=1
secs=60
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    -j) jobs=${2:?"-j needs a number"}; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *[!0-9]*|'')
      ok=0
      for t in "${all[@]}"; do [ "$1" = "$t" ] && ok=1; done
      if [ $ok -eq 0 ]; then
        echo "fuzz.sh: unknown target '$1' (one of: ${all[*]})" >&2
        exit 2
      fi
      targets+=("$1"); shift ;;
    *) secs=$1; shift ;;
  esac
done
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
case "$jobs" in ''|*[!0-9]*|0) echo "fuzz.sh: -j wants a positive number" >&2; exit 2 ;; esac

bash scripts/setup.sh
command -v clang >/dev/null || { echo "fuzz.sh: clang is not installed (scripts/setup.sh installs it)" >&2; exit 2; }

build=${FM_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$build" -DFM_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

mkdir -p "$build/fuzz-artifacts" "$build/fuzz-logs"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# One target: the corpus, then fuzzing until the time is up.
run() {
  local t=$1
  mkdir -p "$build/fuzz-corpus/$t"
  set +e
  "$build/bin/fuzz_$t" -max_total_time="$secs" -timeout=25 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$build/fuzz-artifacts/$t-" \
    "$build/fuzz-corpus/$t" "tests/fuzz/corpus/$t" >"$build/fuzz-logs/$t.log" 2>&1
  echo $? >"$build/fuzz-logs/$t.rc"
  set -e
}

echo "fuzz.sh: ${#targets[@]} targets, ${secs} s each, $jobs at a time; logs in $build/fuzz-logs/"
running=0
for t in "${targets[@]}"; do
  run "$t" &
  running=$((running + 1))
  if [ $running -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

stat() { sed -n "s/^stat::$2: *//p" "$build/fuzz-logs/$1.log" | tail -n 1; }

failed=0
printf '%-10s %12s %14s %8s %8s  %s\n' target exec/s executions "new" "rss MB" result
for t in "${targets[@]}"; do
  rc=$(cat "$build/fuzz-logs/$t.rc")
  if [ "$rc" = 0 ]; then
    result=clean
  else
    failed=1
    art=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$build/fuzz-logs/$t.log" | tail -n 1)
    result="FOUND SOMETHING (exit $rc): ${art:-see $build/fuzz-logs/$t.log}"
  fi
  printf '%-10s %12s %14s %8s %8s  %s\n' "$t" "$(stat "$t" average_exec_per_sec)" \
    "$(stat "$t" number_of_executed_units)" "$(stat "$t" new_units_added)" \
    "$(stat "$t" peak_rss_mb)" "$result"
done
exit $failed
