#!/usr/bin/env bash
# bench/sparse-default.sh: dgcn train's defaults on rings (issue: a default that is good on sparse
# graphs). Each row is `dgcn train` with no optimizer, step or rounds option:
#
#   dgcn train --data DATA --agents M --topology ring --cross-edges relay --init-per-agent \
#       --dropout-per-agent --transport inproc --seeds S [--iters 400]
#
# and reports test accuracy (mean +- std over the seeds) against the centralized GCN trained for
# the same number of epochs on the same seeds, the final consensus error, and the params messages
# per link direction per iteration (agreement rounds included), counted from summary.json's
# params bytes. Writes a Markdown table to stdout; run directories stay in DIR (default
# runs/sparse-default).
#
#   bench/sparse-default.sh [--seeds S] [--out DIR] [--rows "citeseer:20:200 citeseer:64:400 ..."]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
seeds=5 out="$here/runs/sparse-default"
rows="citeseer:20:200 citeseer:64:400 cora:20:200 cora:64:400"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "sparse-default.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
printf '| dataset | agents | iterations | links | R | agreement rounds | params msgs / link / iter | distributed GCN | centralized GCN | gap | consensus error | params bytes/iter | ms/iter |\n'
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
for row in $rows; do
  IFS=: read -r ds m iters <<< "$row"
  d="$out/$ds-m$m-i$iters"
  [ -s "$d/summary.json" ] || "$dgcn" train --data "$data/$ds" --agents "$m" --topology ring \
    --cross-edges relay --init-per-agent --dropout-per-agent --transport inproc --seeds "$seeds" \
    --iters "$iters" --quiet --force --out "$d" > "$d.log" 2>&1 ||
    { echo "sparse-default.sh: $row failed, see $d.log" >&2; exit 1; }
  /usr/bin/python3 - "$d" <<'PY'
import json, sys
d = sys.argv[1]
s = json.load(open(d + "/summary.json"))
c = json.load(open(d + "/config.json"))
rc = c["run_config"]
links, it, seeds = c["topology_links"], s["iterations"], s["seeds"]
R, agree = rc["gossip_rounds"], rc["agree_rounds"]
P = s["n_params"]
# messages per link direction per iteration: R per training iteration, plus the agreement rounds
msgs = s["params_msgs_per_link_iter"]
# cross-check against the measured params bytes: training messages carry 2P floats (gt-adam),
# agreement messages P floats
pb = s["params_bytes_total"]  # one seed's run
expect = 2 * links * 4 * P * (2 * R * it + agree)
assert abs(pb - expect) <= 1e-6 * expect, ("params bytes", pb, "expected", expect)
print("| %s | %d | %d | %d | %d | %d | %.2f | %.2f +- %.2f | %.2f +- %.2f | %+.2f | %.1e | %.3g | %.1f |" % (
    c["data"].rstrip("/").split("/")[-1], c["agents"], it, links, R, agree, msgs,
    100 * s["test_acc_mean"], 100 * s["test_acc_std"], 100 * s["central_test_acc_mean"],
    100 * s["central_test_acc_std"], 100 * (s["test_acc_mean"] - s["central_test_acc_mean"]),
    s["consensus_error"], s["bytes_per_iter_params"], s["ms_per_iter_median"]))
PY
done
