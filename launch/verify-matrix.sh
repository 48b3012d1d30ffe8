#!/usr/bin/env bash
# launch/verify-matrix.sh: dgcn verify over datasets x agent counts x transports x partitioners.
# Every run checks that the distributed forward and backward equal the centralized ones (<= 1e-5)
# and that the halo bytes equal the plan's prediction. Prints one line per run and a final count;
# exits non-zero if any run fails.
#
#   launch/verify-matrix.sh [--quick]    (--quick: Cora, M in {2, 5}, every transport and partitioner)
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
datasets=(cora citeseer pubmed)
agents=(1 2 3 5 8 16)
if [ "${1:-}" = "--quick" ]; then datasets=(cora); agents=(2 5); fi
pass=0 fail=0
for ds in "${datasets[@]}"; do
  for m in "${agents[@]}"; do
    for part in bfs metis random block; do
      for tr in inproc zmq mpi; do
        if [ "$tr" = mpi ]; then
          cmd=(mpirun -np $((m + 1)) "$dgcn" verify --transport mpi)
        else
          cmd=("$dgcn" verify --transport "$tr")
        fi
        cmd+=(--data "$data/$ds" --agents "$m" --partition "$part")
        if out=$(timeout 300 "${cmd[@]}" 2>&1); then
          pass=$((pass + 1)); status=PASS
        else
          fail=$((fail + 1)); status=FAIL
        fi
        diffs=$(printf '%s\n' "$out" | grep -E 'max relative difference' | awk '{print $1"="$5}' | tr '\n' ' ')
        printf '%-9s M=%-2d %-6s %-6s %s %s\n' "$ds" "$m" "$part" "$tr" "$status" "$diffs"
        [ "$status" = FAIL ] && printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
      done
    done
  done
done
echo "verify matrix: $pass passed, $fail failed"
[ "$fail" = 0 ]
