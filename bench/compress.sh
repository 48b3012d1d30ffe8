#!/usr/bin/env bash
# bench/compress.sh: accuracy against total bytes with compressed gossip (issue 22, the front).
# Each row is one `dgcn train` of S seeds:
#
#   dgcn train --data DATA --agents M --topology TOPO --cross-edges relay --transport inproc \
#       --seeds S --iters N --no-baselines SETTING
#
# where SETTING is one of
#   default   (nothing: gt-adam, Chebyshev-accelerated gossip, R from the SLEM, at most 3)
#   plain     --gossip-rounds 1 --gossip-accel none (the uncompressed run beside the compressed)
#   SPEC      --gossip-rounds 1 --gossip-accel none --compress-params SPEC (automatic gamma), or
#   SPEC@G    the same with --compress-gamma G
#   SETTING+hH    any of these with --compress-halo H (16 or 8) added: both traffic classes compressed
# NELL runs with its flags (docs/datasets.md, hidden 16 to keep it affordable): NELL_FLAGS, default
# "--dropout 0.1 --weight-decay 1e-5 --raw-counts".
# and reports test accuracy (mean +- std over the seeds), bytes_total (every byte the agents sent
# in one seed's run, halo and params: summary.json), its ratio to the plain and default rows, the
# final consensus error and ms per iteration. Writes front.tsv and front.md into OUT (default
# runs/compress) and the Markdown table to stdout; with gnuplot, front.png (accuracy against
# bytes, one panel per dataset and topology). A row whose summary.json exists is not run again.
#
# --collect runs nothing: it tabulates (and plots) the rows of OUT that exist, skipping the others.
#
#   bench/compress.sh [--seeds S] [--agents M] [--iters N] [--out DIR] [--datasets "cora ..."]
#                     [--topologies "ring exponential"] [--settings "default plain quant:4 ..."]
#                     [--collect]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
seeds=3 agents=20 iters=200 out="$here/runs/compress" collect=0
datasets="cora citeseer pubmed"
topologies="ring exponential"
settings="default plain quant:4 quant:2 topk:0.1 topk:0.04 randk:0.1"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --datasets) datasets=$2; shift 2 ;;
    --topologies) topologies=$2; shift 2 ;;
    --settings) settings=$2; shift 2 ;;
    --collect) collect=1; shift ;;
    -h|--help) sed -n '2,28p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "compress.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1
tsv="$out/front.tsv"
printf 'dataset\ttopology\tsetting\tacc_mean\tacc_std\tbytes_total\tparams_bytes_total\tconsensus_error\tms_per_iter\tgamma\n' > "$tsv"
for ds in $datasets; do
  for topo in $topologies; do
    for s in $settings; do
      base="${s%+h*}" halo=()
      [ "$base" != "$s" ] && halo=(--compress-halo "${s##*+h}")
      extra=()
      [ "$ds" = nell ] && read -r -a extra <<< "${NELL_FLAGS:---dropout 0.1 --weight-decay 1e-5 --raw-counts}"
      case "$base" in
        default) flags=() ;;
        plain) flags=(--gossip-rounds 1 --gossip-accel none) ;;
        *@*) flags=(--gossip-rounds 1 --gossip-accel none --compress-params "${base%@*}"
                    --compress-gamma "${base#*@}") ;;
        *) flags=(--gossip-rounds 1 --gossip-accel none --compress-params "$base") ;;
      esac
      flags+=("${halo[@]}" "${extra[@]}")
      d="$out/$ds-$topo-${s//[:@+]/_}"
      [ "$collect" = 1 ] && [ ! -s "$d/summary.json" ] && continue
      if [ ! -s "$d/summary.json" ]; then
        echo "compress.sh: $ds $topo $s ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
        "$dgcn" train --data "$data/$ds" --agents "$agents" --topology "$topo" --cross-edges relay \
          --transport inproc --seeds "$seeds" --iters "$iters" --no-baselines --quiet --force \
          --out "$d" "${flags[@]}" > "$d.log" 2>&1 ||
          { echo "compress.sh: $ds $topo $s failed (see $d.log)" >&2; continue; }
      fi
      python3 - "$d" "$ds" "$topo" "$s" >> "$tsv" <<'EOF'
import json, sys
d, ds, topo, s = sys.argv[1:5]
j = json.load(open(d + "/summary.json"))
c = json.load(open(d + "/config.json"))["run_config"]
g = c.get("compress_gamma", 0)
if c.get("compress_params", 0):
    k, a = c["compress_params"], c["compress_amount"]
    g = g or (min(1.0, 2 * a) if k == 1 else a if k == 2 else (1.0 if a >= 3 else 0.4))
ce = j["consensus_error"]
print("\t".join(str(x) for x in [ds, topo, s, j["test_acc_mean"], j["test_acc_std"],
      int(j["bytes_total"]), int(j["params_bytes_total"]), ce, j["ms_per_iter_median"], g]))
EOF
    done
  done
done
python3 - "$tsv" "$out/front.md" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])][1:]
ref = {}
for r in rows:
    if r[2] in ("plain", "default"):
        ref[(r[0], r[1], r[2])] = (float(r[3]), float(r[5]))
out = ["| dataset | topology | setting | gamma | test acc (%) | vs plain (points) | bytes_total (MB) | plain / this | default / this | consensus error | ms/iter |",
       "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
for r in rows:
    ds, topo, s = r[0], r[1], r[2]
    acc, sd, b = float(r[3]) * 100, float(r[4]) * 100, float(r[5])
    p = ref.get((ds, topo, "plain")); dflt = ref.get((ds, topo, "default"))
    dp = "%+.2f" % (acc - p[0] * 100) if p else "-"
    rp = "%.1fx" % (p[1] / b) if p else "-"
    rd = "%.1fx" % (dflt[1] / b) if dflt else "-"
    g = r[9] if s not in ("plain", "default") else "-"
    out.append("| %s | %s | %s | %s | %.2f +- %.2f | %s | %.1f | %s | %s | %.2e | %.1f |" % (
        ds, topo, s, g, acc, sd, dp, b / 1e6, rp, rd, float(r[7]), float(r[8])))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
EOF
if command -v gnuplot > /dev/null; then
  panels=$(awk -F'\t' 'NR > 1 { print $1 ":" $2 }' "$tsv" | awk '!seen[$0]++')
  n=$(echo $panels | wc -w)
  {
    echo "set terminal pngcairo size $((420 * (n < 4 ? n : 4))),$((340 * ((n + 3) / 4)))"
    echo "set output '$out/front.png'"
    echo "set multiplot layout $(((n + 3) / 4)),$((n < 4 ? n : 4))"
    echo "set logscale x; set xlabel 'bytes sent, one run (MB)'; set ylabel 'test accuracy (%)'"
    echo "set key bottom right font ',8'; set termoption noenhanced"
    for p in $panels; do
      ds=${p%:*} topo=${p#*:}
      echo "set title '$ds, $topo, $agents agents'"
      echo "plot '$tsv' using (strcol(1) eq '$ds' && strcol(2) eq '$topo' && strcol(3) ne 'plain' && strcol(3) ne 'default' ? \$6/1e6 : 1/0):(\$4*100):(\$5*100) with yerrorbars pt 7 title 'compressed', \\"
      echo "  '' using (strcol(1) eq '$ds' && strcol(2) eq '$topo' && strcol(3) eq 'plain' ? \$6/1e6 : 1/0):(\$4*100):(\$5*100) with yerrorbars pt 5 ps 1.5 title 'plain (1 round)', \\"
      echo "  '' using (strcol(1) eq '$ds' && strcol(2) eq '$topo' && strcol(3) eq 'default' ? \$6/1e6 : 1/0):(\$4*100):(\$5*100) with yerrorbars pt 9 ps 1.5 title 'default (chebyshev)', \\"
      echo "  '' using (strcol(1) eq '$ds' && strcol(2) eq '$topo' && strcol(3) ne 'plain' && strcol(3) ne 'default' ? \$6/1e6 : 1/0):(\$4*100):3 with labels offset 0,0.8 font ',7' notitle"
    done
    echo "unset multiplot"
  } > "$out/front.gp"
  gnuplot -e "set datafile separator '\t'" "$out/front.gp" 2>/dev/null || echo "compress.sh: gnuplot failed" >&2
fi
