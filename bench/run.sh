#!/usr/bin/env bash
# bench/run.sh: centralized training speed and memory of dgcn against the PyTorch reference, both on
# one thread, on the same machine in the same session. Prints a Markdown table of ratios and writes
# the raw JSON lines to bench/results/<date>.jsonl.
#
#   bench/run.sh [--quick] [DATASET...]   (--quick: Cora only, 3 seeds; DATASET...: only these rows,
#                                          e.g. bench/run.sh cora pubmed)
# A row is "dataset seeds [options...]": the options (hyper-parameters, --raw-counts) go to both
# programs, so each row compares the same model (NELL: Kipf and Welling's NELL settings).
# Needs the release build (launch/setup.sh --bench also installs python3-torch) and ../shared/data.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
bench="$here/build/bench/bench_centralized"
dgcn="$here/build/coordinator/dgcn"
py=/usr/bin/python3
[ -x "$bench" ] || { echo "bench: build first (launch/setup.sh --bench)" >&2; exit 1; }
$py -c 'import torch' 2>/dev/null || { echo "bench: python3-torch missing (launch/setup.sh --bench)" >&2; exit 1; }
mkdir -p "$here/bench/results"
out="$here/bench/results/$(date +%Y%m%d-%H%M%S).jsonl"
big="${TMPDIR:-/tmp}/dgcn-bench-csbm-100k"

sets=("cora 10" "citeseer 10" "pubmed 10" "coauthor_physics 3" "csbm-100k 3"
      "amazon_computers 3" "github 3"
      "nell 3 --hidden 64 --dropout 0.1 --weight-decay 1e-5 --raw-counts")
if [ "${1:-}" = "--quick" ]; then
  sets=("cora 3")
elif [ $# -gt 0 ]; then
  pick=()
  for want in "$@"; do
    found=0
    for s in "${sets[@]}"; do
      [ "${s%% *}" = "$want" ] && { pick+=("$s"); found=1; }
    done
    [ "$found" = 1 ] || { echo "bench: unknown dataset $want (cora citeseer pubmed coauthor_physics csbm-100k amazon_computers github nell)" >&2; exit 2; }
  done
  sets=("${pick[@]}")
fi
if printf '%s\n' "${sets[@]}" | grep -q '^csbm-100k ' && [ ! -f "$big/meta.txt" ]; then
  "$dgcn" generate --nodes 100000 --degree 20 --classes 10 --features 500 --out "$big" >&2
fi

printf '| dataset | seeds | dgcn acc | reference acc | dgcn ms/epoch | reference ms/epoch | speed-up | dgcn peak MB | reference peak MB |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for s in "${sets[@]}"; do
  set -- $s
  name=$1 seeds=$2
  shift 2
  dir="$data/$name"
  [ "$name" = csbm-100k ] && dir="$big"
  a=$("$bench" --data "$dir" --seeds "$seeds" "$@")
  b=$($py "$here/bench/reference_gcn.py" "$dir" --seeds "$seeds" "$@")
  printf '%s\n%s\n' "$a" "$b" >> "$out"
  $py - "$a" "$b" "$name" "$seeds" <<'PY'
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("| %s | %s | %.2f +- %.2f | %.2f +- %.2f | %.3f | %.2f | %.1fx | %.0f | %.0f |" % (
    sys.argv[3], sys.argv[4], 100 * a["test_acc_mean"], 100 * a["test_acc_std"],
    100 * b["test_acc_mean"], 100 * b["test_acc_std"], a["ms_per_epoch_median"],
    b["ms_per_epoch_median"], b["ms_per_epoch_median"] / a["ms_per_epoch_median"],
    a["peak_mb"], b["peak_mb"]))
PY
done
echo "raw results: $out" >&2
