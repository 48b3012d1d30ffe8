#!/usr/bin/env bash
# launch/test.sh: set up (install missing packages, build), check that the C sources match
# .clang-format, and run the whole test suite, first in the release build, then under
# AddressSanitizer + UndefinedBehaviorSanitizer, then a 10-second smoke run of every fuzz target
# (launch/fuzz.sh; docs/fuzzing.md).
# Suites that need ../shared/data skip with a message when it is absent. Each phase's wall time
# and the load average are printed as it ends and together at the end (bench/results/ci-time-*.md).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
times=()
phase_start=$SECONDS
phase_end() { # phase_end NAME: record the time since the previous phase ended
  local t=$((SECONDS - phase_start))
  times+=("$(printf '%-32s %4d s   load %s' "$1" "$t" "$(cut -d' ' -f1-3 /proc/loadavg)")")
  echo "-- $1: $t s (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  phase_start=$SECONDS
}
echo "== set-up and builds (launch/setup.sh --sanitize: release and ASan + UBSan)"
"$here/launch/setup.sh" --sanitize
phase_end "set-up and builds"
# shellcheck source=launch/env.sh
. "$here/launch/env.sh"
jobs="$(nproc 2>/dev/null || echo 2)"
echo "== format (launch/format.sh --check)"
"$here/launch/format.sh" --check
phase_end "format"
echo "== tests (release build)"
ctest --test-dir "$here/build" --output-on-failure -j "$jobs"
phase_end "tests (release)"
echo "== tests (ASan + UBSan build)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export CK_TIMEOUT_MULTIPLIER=4 # instrumented code runs several times slower; per-test bounds stretch
export LSAN_OPTIONS="suppressions=$here/launch/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$here/build-asan" --output-on-failure -j "$jobs"
phase_end "tests (ASan + UBSan)"
echo "== fuzz smoke (launch/fuzz.sh --time 10 --jobs $jobs, every target)"
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS # fuzz.sh sets its own
"$here/launch/fuzz.sh" --time 10 --jobs "$jobs"
phase_end "fuzz build and smoke"
echo "== all tests passed; wall time per phase (CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores):"
printf '   %s\n' "${times[@]}"
echo "   total                            $SECONDS s"
