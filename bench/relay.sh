#!/bin/sh
# bench/relay.sh: the relay comparison of docs/relay.md. For each dataset and agent count, the ring,
# the exponential graph and a designed topology, each under --cross-edges relay (rows of missing
# links forwarded), drop (those data edges dropped) and keep (the required links added); gt-adam,
# BFS partition, no link removal, inproc transport. One `dgcn study` per (dataset, M, policy) under
# OUT_DIR, then one table (markdown) on stdout: test accuracy mean +- std over the seeds, consensus
# error, bytes per iteration (halo direct, halo relayed, consensus), hops per exchange, ms/iter.
# usage: bench/relay.sh [BUILD_DIR] [OUT_DIR]
#   env: DATASETS ["cora citeseer"], AGENTS ["10 20 64"], TOPOLOGIES [ring,exponential,designed:1],
#        POLICIES ["relay drop keep"], ITERS [200], SEEDS [3]
set -eu
mkdir -p "${2:-runs/relay}"
build=${1:-build}
out=${2:-runs/relay}
data=${DGCN_DATA:-$(dirname "$0")/../../shared/data}
export OPENBLAS_NUM_THREADS=1
for ds in ${DATASETS:-cora citeseer}; do
  for m in ${AGENTS:-10 20 64}; do
    for pol in ${POLICIES:-relay drop keep}; do
      dir="$out/$ds-$m-$pol"
      [ -f "$dir/study.tsv" ] && continue
      echo "$build/coordinator/dgcn study --data $data/$ds --agents $m --partition bfs" \
        "--topologies ${TOPOLOGIES:-ring,exponential,designed:1} --remove 0 --cross-edges $pol" \
        "--optimizer gt-adam --lr 0.01 --lr-cooldown 0 --iters ${ITERS:-200} --seeds ${SEEDS:-3} --eval-every 20" \
        "--transport inproc --out $dir" >&2
      "$build/coordinator/dgcn" study --data "$data/$ds" --agents "$m" --partition bfs \
        --topologies "${TOPOLOGIES:-ring,exponential,designed:1}" --remove 0 --cross-edges "$pol" \
        --optimizer gt-adam --lr 0.01 --lr-cooldown 0 --iters "${ITERS:-200}" --seeds "${SEEDS:-3}" \
        --eval-every 20 \
        --transport inproc --out "$dir" >"$dir.log" 2>&1 || echo "study $dir failed (see $dir.log)" >&2
    done
  done
done
echo "| dataset | M | topology | policy | links | hops | test acc (%) | consensus error | direct B/it | relayed B/it | consensus B/it | ms/it |"
echo "|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for ds in ${DATASETS:-cora citeseer}; do
  for m in ${AGENTS:-10 20 64}; do
    for pol in ${POLICIES:-relay drop keep}; do
      f="$out/$ds-$m-$pol/study.tsv"
      [ -f "$f" ] || continue
      awk -F'\t' -v ds="$ds" -v m="$m" -v pol="$pol" 'NR > 1 {
        if ($11 != "ok") { printf "| %s | %s | %s | %s | %s | - | %s | - | - | - | - | - |\n", ds, m, $1, pol, $3, $11; next }
        printf "| %s | %s | %s | %s | %d | %d | %.2f +- %.2f | %.2e | %.0f | %.0f | %.0f | %.1f |\n",
          ds, m, $1, pol, $3, $12, 100 * $5, 100 * $6, $8, $13, $14, $15, $10 }' "$f"
    done
  done
done
