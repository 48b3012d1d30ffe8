#!/usr/bin/env bash
# launch/fuzz.sh: build the libFuzzer targets (launch/setup.sh --fuzz, build-fuzz/) and run each on
# its seed corpus for a fixed time; print, per target, executions, corpus size and crashes.
#
#   launch/fuzz.sh [--time SECONDS] [--jobs N] [TARGET...]    default: 60 s each, every target,
#                                                             one at a time (--jobs: N at once)
#   targets: dataset shard control config neighbor topology (docs/fuzzing.md)
#
# The seed corpus tests/fuzz/corpus/<target>/ is only read; what a run adds goes to
# build-fuzz/corpus/<target>/ and is kept for the next run. Crashes, leaks and timeouts are written
# to build-fuzz/crashes/<target>/ (libFuzzer's crash-*, leak-*, oom-*, timeout-* files); the
# output of each run is build-fuzz/logs/<target>.log. Exit status 1 when any target found one.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
all=(dataset shard control config neighbor topology)
seconds=60
jobs=1
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) seconds="${2:?--time needs SECONDS}"; shift 2 ;;
    --jobs) jobs="${2:?--jobs needs N}"; shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "fuzz.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  case " ${all[*]} " in *" $t "*) ;; *) echo "fuzz.sh: unknown target $t (known: ${all[*]})" >&2; exit 2 ;; esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: --time needs a whole number of seconds" >&2; exit 2 ;; esac
case "$jobs" in ''|0|*[!0-9]*) echo "fuzz.sh: --jobs needs a whole number >= 1" >&2; exit 2 ;; esac

"$here/launch/setup.sh" --fuzz
out="$here/build-fuzz"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
found=0
# Findings in a crash folder: crash-*, leak-*, oom-*, timeout-* (slow-unit-* files are inputs that
# took over 10 s, kept for a look, not findings).
s_count() { find "$1" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l; }
# fuzz_one T: runs target T for the set time on its corpus; its status goes to logs/T.status.
fuzz_one() {
  local t="$1" work="$out/corpus/$1" crashes="$out/crashes/$1" log="$out/logs/$1.log" st=0
  # -rss_limit_mb / -malloc_limit_mb: an input that makes the decoder ask for more than 2 GiB is
  # reported (oom-*), as a defect: no input file of a few KB should cost that much memory.
  "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 \
    -rss_limit_mb=2048 -malloc_limit_mb=2048 -artifact_prefix="$crashes/" \
    "$work" "$here/tests/fuzz/corpus/$t" >"$log" 2>&1 || st=$?
  echo "$st" > "$out/logs/$t.status"
}
declare -A before
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t" "$out/crashes/$t" "$out/logs"
  before[$t]="$(s_count "$out/crashes/$t")"
  rm -f "$out/logs/$t.status"
done
# --jobs N: up to N targets at once (each still runs its full time on a core of its own when the
# machine has N free cores); the table below comes out in the targets' order either way.
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$t" &
  running=$((running + 1))
done
wait || true
printf '%-9s %8s %12s %8s %9s %8s\n' target seconds executions corpus bytes crashes
for t in "${targets[@]}"; do
  work="$out/corpus/$t" crashes="$out/crashes/$t" log="$out/logs/$t.log"
  status="$(cat "$out/logs/$t.status" 2>/dev/null || echo 1)"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  after="$(s_count "$crashes")"
  new=$((after - ${before[$t]}))
  [ "$status" = 0 ] || [ "$new" -gt 0 ] || new=1 # a failure that left no artifact still counts
  printf '%-9s %8s %12s %8s %9s %8s\n' "$t" "$seconds" "${execs:-?}" \
    "$(find "$work" -type f | wc -l)" "$(du -sb "$work" | cut -f1)" "$new"
  if [ "$new" -gt 0 ]; then
    found=1
    grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error' "$log" >&2 || true
    echo "fuzz.sh: $t: see $log and $crashes/" >&2
  fi
done
exit "$found"
