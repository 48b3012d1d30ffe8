#!/usr/bin/env bash
# bench/paper.sh: the paper's main experiment (Scardapane et al. 2021, Sec. V): Cora and Citeseer
# split among 5, 10, 15 and 20 agents by breadth-first search, distributed GCN against the
# centralized GCN and an MLP, mean +- std over seeds. Prints a Markdown table; the run directories
# (metrics, summaries, plots) stay in runs/paper/.
#
#   bench/paper.sh [--seeds N] [--iters N] [--optimizer gt-adam|gt|dgd] [--transport inproc|zmq]
#                   [--topology designed|required|...]   (ring: the required links plus a ring, which keeps graphs
#                   with many components connected; the required links alone can leave agents disconnected)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
seeds=10 iters=200 optimizer=gt-adam transport=inproc topology=ring
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --optimizer) optimizer=$2; shift 2 ;;
    --transport) transport=$2; shift 2 ;;
    --topology) topology=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "paper.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$here/runs/paper"
printf '| dataset | agents | distributed GCN | centralized GCN | MLP | gap (points) | final consensus error | bytes/iter |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|\n'
for ds in cora citeseer; do
  for m in 5 10 15 20; do
    out="$here/runs/paper/$ds-m$m"
    "$dgcn" train --data "$data/$ds" --agents "$m" --partition bfs --topology "$topology" \
      --optimizer "$optimizer" --iters "$iters" --seeds "$seeds" --transport "$transport" \
      --out "$out" > "$out.log" 2>&1 || { echo "paper.sh: $ds M=$m failed, see $out.log" >&2; exit 1; }
    /usr/bin/python3 - "$out/summary.json" "$ds" "$m" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("| %s | %s | %.2f +- %.2f | %.2f +- %.2f | %.2f +- %.2f | %+.2f | %.1e | %d |" % (
    sys.argv[2], sys.argv[3], 100 * s["test_acc_mean"], 100 * s["test_acc_std"],
    100 * s["central_test_acc_mean"], 100 * s.get("central_test_acc_std", 0),
    100 * s["mlp_test_acc_mean"], 100 * s.get("mlp_test_acc_std", 0),
    100 * (s["test_acc_mean"] - s["central_test_acc_mean"]), s["consensus_error"],
    s["bytes_per_iter"]))
PY
  done
done
