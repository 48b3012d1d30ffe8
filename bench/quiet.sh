#!/usr/bin/env bash
# bench/quiet.sh: the measurements issue 20 asks to take on a quiet machine, in one go, each
# recorded with its commands, CPU model and load (run it with nothing else on the machine):
#
#   1. dgcn against the PyTorch reference (bench/compare.sh --strict, 3 rounds interleaved): Cora,
#      Citeseer, Pubmed, Coauthor Physics, Amazon Computers and GitHub with Kipf's setup, NELL with
#      Kipf's NELL settings (64 hidden, dropout 0.1, L2 1e-5, counts kept) -> compare-<date>.md
#   2. 1,000 Cora agents and the NELL and GitHub rows against their floor (bench/agents.sh)
#      -> agents-<date>-quiet.md
#   3. CI on a fresh clone of this repository's HEAD (CI=true bash .ci/run; launch/test.sh prints
#      each phase's time and load) -> ci-time-<date>-quiet.txt
#
#   bench/quiet.sh [--only compare|agents|ci]... [--wait S]
#
# Before each part it waits up to --wait seconds (default 300) for the 1-minute load average to
# fall below 1 and says so when it did not. Results go to bench/results/. The parts run one after
# the other; a refused compare.sh row (load > 1) does not stop the others (status 3 at the end).
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
parts=()
wait_s=300
while [ $# -gt 0 ]; do
  case "$1" in
    --only) parts+=("${2:?--only needs compare, agents or ci}"); shift 2 ;;
    --wait) wait_s="${2:?--wait needs seconds}"; shift 2 ;;
    -h|--help) sed -n '2,/^set -uo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quiet.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ ${#parts[@]} -gt 0 ] || parts=(compare agents ci)
for p in "${parts[@]}"; do
  case "$p" in compare|agents|ci) ;; *) echo "quiet.sh: unknown part $p" >&2; exit 2 ;; esac
done
date_tag="$(date -u +%Y%m%d)"
results="$here/bench/results"
status=0

settle() { # settle PART: wait for the load average to fall below 1
  local t=0
  while awk '{exit !($1 >= 1)}' /proc/loadavg && [ "$t" -lt "$wait_s" ]; do sleep 10; t=$((t + 10)); done
  echo "quiet.sh: $1 starts at load $(cut -d' ' -f1-3 /proc/loadavg) (waited $t s)" >&2
}

for p in "${parts[@]}"; do
  settle "$p"
  case "$p" in
    compare)
      "$here/bench/compare.sh" --strict --rounds 3 --seeds 3 --settle 120 \
        cora citeseer pubmed coauthor_physics amazon_computers github || status=$?
      "$here/bench/compare.sh" --strict --rounds 3 --seeds 3 --settle 120 \
        --dgcn-args "--hidden 64 --dropout 0.1 --weight-decay 1e-5 --raw-counts" \
        --ref-args "--hidden 64 --dropout 0.1 --weight-decay 1e-5 --raw-counts" nell || status=$?
      ;;
    agents)
      "$here/bench/agents.sh" --rows "cora-1000 nell-10 github-10 github-100" \
        --out "$results/agents-$date_tag-quiet.md" || status=$?
      ;;
    ci)
      clone="$(mktemp -d "${TMPDIR:-/tmp}/dgcn-ci-XXXXXX")"
      git clone -q "$here" "$clone/dgcn"
      # the tests look for ../shared/data beside the clone
      [ -e "$clone/shared" ] || ln -s "$(cd "$here/.." && pwd)/shared" "$clone/shared"
      out="$results/ci-time-$date_tag-quiet.txt"
      {
        echo "CI=true bash .ci/run on a fresh clone of $(git -C "$here" rev-parse --short HEAD)"
        echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores"
        echo "start $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
      } > "$out"
      (cd "$clone/dgcn" && CI=true bash .ci/run) > "$clone/ci.log" 2>&1 || status=$?
      sed -n '/== all tests passed/,$p' "$clone/ci.log" >> "$out"
      echo "end $(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg), status $status" >> "$out"
      echo "quiet.sh: CI log $clone/ci.log, times $out" >&2
      ;;
  esac
done
exit "$status"
