#!/usr/bin/env bash
# bench/agents.sh: the cost of simulating M agents on this machine (inproc: tasks on one worker per
# core), against a floor measured in the same run: the centralized epoch plus one pass, at this
# machine's memory read bandwidth (bench_membw), over the parameter bytes the consensus step must
# read (every link direction's message, every gossip round). Records ms per iteration (median),
# bytes per iteration, the coordinator's peak resident set (the whole simulation) and test
# accuracy; prints a Markdown table and the commands.
#
#   bench/agents.sh [--rows "NAME ..."] [--iters N] [--out FILE]
#
# Rows (NAME: dataset, agents, topology, cross-edge policy, iterations):
#   cora-10 cora-100 cora-1000        Cora, a ring joined with the required links (every data
#                                     edge has a link): exact (Cora has 78 components, so the
#                                     required links alone are not connected)
#   physics-10 physics-100            Coauthor Physics, the same, exact
#   physics-1000                      Coauthor Physics, a ring; data edges between agents without a
#                                     link dropped (the required links would be ~15,000 links of
#                                     540 KB messages: 16 GB per iteration)
#   gen1m-10000                       a generated graph of 1,000,000 nodes (dgcn generate), 10,000
#                                     agents on a ring, uncovered data edges dropped, 20 iterations
#   nell-10 nell-100                  NELL (61,278 sparse features: a wide first layer, P = 983,808
#                                     with 16 hidden units, 7.9 MB messages), ring joined with the
#                                     required links (nell-100: the ring alone, uncovered data edges
#                                     dropped), 50 iterations
#   github-10 github-100              GitHub (37,700 nodes, 289,003 edges, hubs of degree up to
#                                     9,458), ring joined with the required links, 50 iterations
# Every row: BFS parts, gt-adam at the constant step 0.01 its recorded results used (train's
# default now cools 0.05 to 0), one gossip round per iteration, one seed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
membw="$here/build/bench/bench_membw"
rows="cora-10 cora-100 cora-1000 physics-10 physics-100 physics-1000 gen1m-10000 nell-10 github-10 github-100"
iters=200
outfile=""
while [ $# -gt 0 ]; do
  case "$1" in
    --rows) rows=$2; shift 2 ;;
    --iters) iters=$2; shift 2 ;;
    --out) outfile=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "agents.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -x "$dgcn" ] && [ -x "$membw" ] || { echo "agents.sh: build first (launch/setup.sh)" >&2; exit 1; }
runs="$here/runs/agents"
mkdir -p "$runs"
[ -n "$outfile" ] || outfile="$here/bench/results/agents-$(date +%Y%m%d-%H%M%S).md"

bw=$("$membw" 2>/dev/null | awk '/read_gb_per_s/ {print $2}')
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
{
  echo "# bench/agents.sh, $(date -u +%Y-%m-%dT%H:%MZ)"
  echo
  echo "CPU: $cpu, $(nproc) cores; memory read bandwidth (bench_membw, one thread): $bw GB/s;"
  echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)."
  echo
  echo "| row | agents | links | ms/iter | floor ms | ratio | bytes/iter | consensus bytes/iter | peak RSS MB | MB/agent | test acc | load |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
} > "$outfile"
cmds=()
for row in $rows; do
  name=${row%-*} m=${row##*-} it=$iters topo=ring cross=keep
  case "$name" in
    cora) ds="$data/cora" ;;
    physics) ds="$data/coauthor_physics"; [ "$m" -ge 1000 ] && cross=drop ;;
    nell) ds="$data/nell"; it=$((iters < 50 ? iters : 50)); [ "$m" -ge 100 ] && cross=drop ;;
    github) ds="$data/github"; it=$((iters < 50 ? iters : 50)) ;;
    gen1m)
      ds="$runs/gen1m"
      it=20 cross=drop
      if [ ! -f "$ds/meta.txt" ]; then
        "$dgcn" generate --out "$ds" --nodes 1000000 --classes 5 --degree 8 --features 500 \
          --feature-nnz 20 --train-per-class 2000 --val 10000 --test 100000 > "$runs/gen1m.log" 2>&1 ||
          { echo "agents.sh: dgcn generate failed, see $runs/gen1m.log" >&2; exit 1; }
      fi ;;
    *) echo "agents.sh: unknown row $row" >&2; exit 2 ;;
  esac
  out="$runs/$row"
  cmd=("$dgcn" train --data "$ds" --agents "$m" --partition bfs --topology "$topo" \
       --cross-edges "$cross" --optimizer gt-adam --lr 0.01 --lr-cooldown 0 --gossip-rounds 1 \
       --iters "$it" --seeds 1 \
       --transport inproc --quiet --force --out "$out")
  cmds+=("${cmd[*]}")
  echo "agents.sh: $row ..." >&2
  load0=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%M" -o "$out.rss" "${cmd[@]}" > "$out.log" 2>&1 ||
    { echo "agents.sh: $row failed, see $out.log" >&2; echo "| $row | $m | failed: see runs/agents/$row.log |" >> "$outfile"; continue; }
  load1=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/python3 - "$out/summary.json" "$out/topology.edges" "$out.rss" "$row" "$m" "$bw" "$load0 -> $load1" >> "$outfile" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
links = sum(1 for line in open(sys.argv[2]) if line.strip() and not line.startswith("#"))
rss_mb = int(open(sys.argv[3]).read().split()[-1]) / 1024.0
m, bw = int(sys.argv[5]), float(sys.argv[6])
cons = s["bytes_per_iter_params"]
floor = s["central_ms_per_epoch"] + cons / (bw * 1e9) * 1e3
print("| %s | %d | %d | %.1f | %.1f | %.2f | %.3g | %.3g | %.0f | %.2f | %.3f | %s |" % (
    sys.argv[4], m, links, s["ms_per_iter_median"], floor, s["ms_per_iter_median"] / floor,
    s["bytes_per_iter"], cons, rss_mb, rss_mb / m, s["test_acc_mean"], sys.argv[7]))
PY
done
{
  echo
  echo "floor = centralized ms per epoch (same run) + consensus bytes per iteration / read bandwidth."
  echo "ratio = ms/iter / floor. load: the 1-minute load average before -> after the row; the"
  echo "floor and the row share the machine's state only when both are low. Commands (one per row,"
  echo "in order):"
  echo
  for c in "${cmds[@]}"; do echo "    ${c//$here\//}"; done
} >> "$outfile"
cat "$outfile"
