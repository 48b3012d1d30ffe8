#!/bin/sh
# bench/study.sh: the paper's sparse-connectivity experiment on Cora (docs/sparse-connectivity.md).
# 10 agents (BFS partition); 0, 25, 50 and 75 % of the links of the required, designed and complete
# topologies removed at random (kept connected), plus the ring and the line; gt-adam, 200
# iterations, 10 seeds; data edges between agents that lose their link are dropped.
# usage: bench/study.sh [BUILD_DIR] [OUT_DIR]
set -eu
build=${1:-build}
out=${2:-runs/study-cora}
data=${DGCN_DATA:-$(dirname "$0")/../../shared/data}/cora
export OPENBLAS_NUM_THREADS=1
exec "$build/coordinator/dgcn" study --data "$data" --agents 10 --partition bfs \
    --topologies required,designed,complete,ring,line --remove 0,0.25,0.5,0.75 \
    --optimizer gt-adam --iters 200 --seeds 10 --eval-every 10 --transport inproc --out "$out"
