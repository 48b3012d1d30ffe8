#!/usr/bin/env bash
# bench/agents.sh: cost of the distributed run per agent count: time per iteration against the
# centralized epoch, and bytes per iteration against the analytic minimum (every halo row once per
# layer each way, one consensus message per link direction). One seed, 200 iterations, BFS parts,
# the designed topology, gt-adam; all agents share this machine's cores, so time per iteration is
# the cost of simulating M agents here, not of M machines. Prints a Markdown table.
#
#   bench/agents.sh [--transports "inproc zmq"] [--datasets "cora citeseer"] [--agents "5 10 15 20"]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
transports="inproc zmq" datasets="cora citeseer" agents="5 10 15 20"
while [ $# -gt 0 ]; do
  case "$1" in
    --transports) transports=$2; shift 2 ;;
    --datasets) datasets=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "agents.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$here/runs/agents"
printf '| dataset | agents | transport | ms/iter | centralized ms/epoch | ratio | bytes/iter | minimum | ratio | test acc |\n'
printf '|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n'
for ds in $datasets; do
  for m in $agents; do
    for tr in $transports; do
      out="$here/runs/agents/$ds-m$m-$tr"
      "$dgcn" train --data "$data/$ds" --agents "$m" --partition bfs --topology designed \
        --transport "$tr" --quiet --out "$out" > "$out.log" 2>&1 ||
        { echo "agents.sh: $ds M=$m $tr failed, see $out.log" >&2; exit 1; }
      /usr/bin/python3 - "$out/summary.json" "$ds" "$m" "$tr" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("| %s | %s | %s | %.2f | %.3f | %.1f | %.0f | %.0f | %.3f | %.3f |" % (
    sys.argv[2], sys.argv[3], sys.argv[4], s["ms_per_iter_median"], s["central_ms_per_epoch"],
    s["ms_per_iter_median"] / s["central_ms_per_epoch"], s["bytes_per_iter"],
    s["bytes_per_iter_min"], s["bytes_per_iter"] / s["bytes_per_iter_min"], s["test_acc_mean"]))
PY
    done
  done
done
