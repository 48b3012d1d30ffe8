#!/usr/bin/env bash
# bench/compress-halo.sh: accuracy and halo / total bytes with compressed halo rows (issue 22,
# docs/compression.md). Each row is
#
#   dgcn train --data DATA --agents 20 --topology TOPO --cross-edges relay --init-per-agent \
#       --dropout-per-agent --transport inproc --seeds S --no-baselines --quiet --compress-halo C [..]
#
# for TOPO in ring and exponential and the settings off, bf16, fp16 (= 16), 8 (q8, nearest), 8 with
# stochastic rounding (8s) and 8 with error feedback on the gradient rows (8f); likewise 4, 2,
# 4s, 2s, 4f, 2f (q4, q2); train's defaults otherwise.
# Reports test accuracy (mean +- std over the seeds) and, from summary.json, the halo bytes sent,
# what they weigh as float32, and all bytes (halo + params) of a seed's run, and the median
# milliseconds per iteration (meaningful on a quiet machine only). Writes a Markdown
# table to stdout; run directories stay in DIR (default runs/compress-halo). With --verify it
# prints instead, per dataset and topology, `dgcn verify --compress-halo off,16,bf16,8,4,2` (training
# mode, then with nearest and stochastic q8) on the same 20 agents: each codec's error against the
# exact pass at the initial weights.
#
#   bench/compress-halo.sh [--verify] [--seeds S] [--out DIR] [--data "cora citeseer pubmed"]
#                          [--topologies "ring exponential"] [--settings "off bf16 fp16 8 8s 8f"]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data_dir="${DGCN_DATA:-$here/../shared/data}"
dgcn="${DGCN:-$here/build/coordinator/dgcn}"
seeds=3 out="$here/runs/compress-halo"
sets="cora citeseer pubmed" topos="ring exponential" settings="off bf16 fp16 8 8s 8f" verify=0
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --data) sets=$2; shift 2 ;;
    --topologies) topos=$2; shift 2 ;;
    --settings) settings=$2; shift 2 ;;
    --verify) verify=1; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compress-halo.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
if [ "$verify" = 1 ]; then
  for ds in $sets; do
    for topo in $topos; do
      for rounding in nearest stochastic; do
        echo "== $ds, 20 agents, $topo with relay, q8 rounding $rounding, training-mode gradient"
        "$dgcn" verify --data "$data_dir/$ds" --agents 20 --topology "$topo" --cross-edges relay \
          --transport inproc --compress-halo off,16,bf16,8,4,2 --halo-rounding "$rounding" \
          --training | tail -n +2
      done
    done
  done
  exit 0
fi
echo "| dataset | topology | setting | test accuracy | halo bytes | halo as float32 | halo saved | total bytes | total / uncompressed run | ms/iter |"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"
for ds in $sets; do
  for topo in $topos; do
    base_total=""
    for s in $settings; do
      extra=()
      case "$s" in
        off|fp16|bf16) extra=(--compress-halo "$s") ;;
        *s) extra=(--compress-halo "${s%s}" --halo-rounding stochastic) ;;
        *f) extra=(--compress-halo "${s%f}" --halo-feedback grad) ;;
        *) extra=(--compress-halo "$s") ;;
      esac
      dir="$out/$ds-$topo-$s"
      rm -rf "$dir"
      "$dgcn" train --data "$data_dir/$ds" --agents 20 --topology "$topo" --cross-edges relay \
        --init-per-agent --dropout-per-agent --transport inproc --seeds "$seeds" --no-baselines --quiet "${extra[@]}" \
        --out "$dir" > "$dir.log" 2>&1 || { echo "| $ds | $topo | $s | failed: $dir.log |"; continue; }
      python3 - "$dir/summary.json" "$s" "$ds" "$topo" "${base_total:-0}" <<'PY'
import json, statistics, sys
d = json.load(open(sys.argv[1])); s, ds, topo, base = sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5])
acc = [100 * a for a in d["test_acc"]]
sd = statistics.stdev(acc) if len(acc) > 1 else 0.0
halo = d["halo_bytes_total"]; raw = d.get("halo_bytes_uncompressed", halo); tot = d["bytes_total"]
rel = f"{tot / base:.4f}" if base > 0 else "1"
ms = d.get("ms_per_iter_median", float("nan"))
print(f"| {ds} | {topo} | {s} | {statistics.mean(acc):.2f} +- {sd:.2f} | {halo:.4g} | {raw:.4g} | {raw - halo:.4g} | {tot:.4g} | {rel} | {ms:.2f} |")
PY
      if [ "$s" = off ]; then
        base_total=$(python3 -c "import json;print(json.load(open('$dir/summary.json'))['bytes_total'])")
      fi
    done
  done
done
