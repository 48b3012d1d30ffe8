#!/usr/bin/env bash
# bench/bytes-curves.sh: accuracy and consensus error against cumulative bytes, per method and
# topology (ring, exponential, sparse:2M, each with --cross-edges relay, per-agent initialization
# and dropout), from two `dgcn study` runs: train's defaults (gt-adam) and the paper's DGD with the
# schedule bench/paper.sh chose on validation. Each study writes its own plots/curves.tsv and PNGs;
# this script also draws both methods in one figure: OUT/acc_vs_bytes.png and
# OUT/consensus_vs_bytes.png (the mean over the seeds at every report).
#
#   bench/bytes-curves.sh [--data DIR] [--agents M] [--iters N] [--seeds S] [--out OUT]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
dgcn="$here/build/coordinator/dgcn"
data="${DGCN_DATA:-$here/../shared/data}/citeseer" m=20 iters=200 seeds=3 out="$here/runs/bytes-curves"
while [ $# -gt 0 ]; do
  case "$1" in
    --data) data=$2; shift 2 ;;
    --agents) m=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --seeds) seeds=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bytes-curves.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
export OPENBLAS_NUM_THREADS=1
mkdir -p "$out"
common=(--data "$data" --agents "$m" --topologies "ring,exponential,sparse:$((2 * m))" --remove 0
        --cross-edges relay --init-per-agent --dropout-per-agent --seeds "$seeds" --quiet --force)
[ -s "$out/default/study.tsv" ] || "$dgcn" study "${common[@]}" --iters "$iters" --gossip-rounds 0 \
  --out "$out/default"
[ -s "$out/dgd/study.tsv" ] || "$dgcn" study "${common[@]}" --optimizer dgd --lr 10 --lr-decay 100 \
  --lr-power 1 --lr-cooldown 0 --gossip-rounds 1 --iters $((2 * iters)) --out "$out/dgd"
for k in acc consensus; do
  if [ $k = acc ]; then col='($7)'; ylab='test accuracy'; logy=''; else
    col='($8 > 0 ? $8 : 1/0)'; ylab='max_k ||theta_k - mean|| / ||mean||'; logy='set logscale y'; fi
  {
    echo "set terminal pngcairo noenhanced size 900,560"
    echo "set output '$out/${k}_vs_bytes.png'"
    echo "set title '$(basename "$data"), $m agents: $ylab vs bytes sent (mean of $seeds seeds)'"
    echo "set xlabel 'bytes sent by all agents (cumulative)'; set ylabel '$ylab'; set logscale x; $logy"
    echo "set key outside right; set grid"
    printf 'plot '
    sep=''
    for meth in default dgd; do
      n=$(grep -cE '^# .* removal [0-9.]+$' "$out/$meth/plots/curves.tsv" || true)
      for ((i = 0; i < n; i++)); do
        t=$(grep -E '^# .* removal [0-9.]+$' "$out/$meth/plots/curves.tsv" | sed -n "$((i + 1))p" | sed 's/^# //; s/ removal.*//')
        printf "%s'%s' index %d using 5:%s with lines lw 2 title '%s %s'" "$sep" \
          "$out/$meth/plots/curves.tsv" "$i" "$col" "$meth" "${t#* }"
        sep=', '
      done
    done
    echo
  } > "$out/${k}_vs_bytes.gp"
  gnuplot "$out/${k}_vs_bytes.gp"
done
echo "bytes-curves.sh: wrote $out/acc_vs_bytes.png and $out/consensus_vs_bytes.png"
