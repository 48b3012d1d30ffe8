#!/usr/bin/env bash
# launch/verify-relay.sh: dgcn verify --cross-edges relay over datasets x topologies x agent counts
# x partitioners x transports. Every run checks that the distributed forward and backward equal the
# centralized ones (<= 1e-5) with the rows of missing links relayed along shortest paths, and that
# the direct and the relayed halo bytes each equal the plan's prediction. One line per run (hops per
# exchange, relayed bytes per direction, the two differences) and a final count; exits non-zero if
# any run fails.
#
#   launch/verify-relay.sh [--quick]    (--quick: Cora, M = 8, ring and star, bfs, every transport)
#
# DATASETS, AGENTS, TOPOLOGIES, PARTS and TRANSPORTS (space-separated) narrow the matrix, e.g.
#   DATASETS=pubmed AGENTS=64 TOPOLOGIES="star torus" launch/verify-relay.sh
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="${DGCN_BIN:-$here/build/coordinator/dgcn}"
read -r -a datasets <<< "${DATASETS:-cora citeseer pubmed}"
read -r -a topologies <<< "${TOPOLOGIES:-ring line star torus hypercube exponential}"
read -r -a agents <<< "${AGENTS:-8 64}"
read -r -a parts <<< "${PARTS:-bfs metis random}"
read -r -a transports <<< "${TRANSPORTS:-inproc zmq mpi}"
if [ "${1:-}" = "--quick" ]; then datasets=(cora); topologies=(ring star); agents=(8); parts=(bfs); fi
pass=0 fail=0
for ds in "${datasets[@]}"; do
  for m in "${agents[@]}"; do
    for topo in "${topologies[@]}"; do
      for part in "${parts[@]}"; do
        for tr in "${transports[@]}"; do
          if [ "$tr" = mpi ]; then
            cmd=(mpirun -np $((m + 1)) "$dgcn" verify --transport mpi)
          else
            cmd=("$dgcn" verify --transport "$tr")
          fi
          cmd+=(--data "$data/$ds" --agents "$m" --partition "$part" --topology "$topo"
                --cross-edges relay)
          if out=$(timeout 300 "${cmd[@]}" 2>&1); then
            pass=$((pass + 1)); status=PASS
          else
            fail=$((fail + 1)); status=FAIL
          fi
          hops=$(printf '%s\n' "$out" | sed -n 's/.*, \([0-9]*\) hop(s) per exchange.*/\1/p')
          relayed=$(printf '%s\n' "$out" | awk '$1 == "halo_fwd" {print $4}')
          diffs=$(printf '%s\n' "$out" | grep -E 'max relative difference' | awk '{print $1"="$5}' | tr '\n' ' ')
          printf '%-9s M=%-2d %-11s %-6s %-6s %s hops=%-2s relayed_fwd=%-9s %s\n' "$ds" "$m" "$topo" \
            "$part" "$tr" "$status" "${hops:-?}" "${relayed:-?}" "$diffs"
          [ "$status" = FAIL ] && printf '%s\n' "$out" | tail -5 | sed 's/^/    /'
        done
      done
    done
  done
done
echo "verify relay matrix: $pass passed, $fail failed"
[ "$fail" = 0 ]
