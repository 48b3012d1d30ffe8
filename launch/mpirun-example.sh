#!/usr/bin/env bash
# launch/mpirun-example.sh: dgcn over MPI on one machine: rank 0 coordinates, ranks 1..M are agents.
#
#   launch/mpirun-example.sh [M] [extra dgcn options]     (default M = 4, the generated graph)
#
# First `dgcn verify` checks one distributed forward and backward against the centralized pass and
# the halo bytes against the plan; then `dgcn train` runs a short training. With a dataset:
#   launch/mpirun-example.sh 8 --data ../shared/data/cora
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=launch/env.sh
. "$here/launch/env.sh"
dgcn="${DGCN:-$here/build/coordinator/dgcn}"
m="${1:-4}"
[ $# -gt 0 ] && shift
mpirun --allow-run-as-root --oversubscribe -np $((m + 1)) -x OPENBLAS_NUM_THREADS \
  "$dgcn" verify --transport mpi "$@"
mpirun --allow-run-as-root --oversubscribe -np $((m + 1)) -x OPENBLAS_NUM_THREADS \
  "$dgcn" train --transport mpi --iters 100 --eval-every 10 --out "$here/runs/mpi-example" "$@"
