#!/usr/bin/env bash
# launch/test.sh: set up (install missing packages, build), check that the C sources match
# .clang-format, and run the whole test suite, first in the release build, then under
# AddressSanitizer + UndefinedBehaviorSanitizer, then a 10-second smoke run of every fuzz target
# (launch/fuzz.sh; docs/fuzzing.md).
# Suites that need ../shared/data skip with a message when it is absent.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$here/launch/setup.sh" --sanitize
# shellcheck source=launch/env.sh
. "$here/launch/env.sh"
jobs="$(nproc 2>/dev/null || echo 2)"
echo "== format (launch/format.sh --check)"
"$here/launch/format.sh" --check
echo "== tests (release build)"
ctest --test-dir "$here/build" --output-on-failure -j "$jobs"
echo "== tests (ASan + UBSan build)"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export CK_TIMEOUT_MULTIPLIER=4 # instrumented code runs several times slower; per-test bounds stretch
export LSAN_OPTIONS="suppressions=$here/launch/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir "$here/build-asan" --output-on-failure -j "$jobs"
echo "== fuzz smoke (launch/fuzz.sh --time 10, every target)"
unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS # fuzz.sh sets its own
"$here/launch/fuzz.sh" --time 10
echo "== all tests passed"
