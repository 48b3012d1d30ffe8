#!/usr/bin/env bash
# bench/paper.sh: the paper's main experiment (Scardapane et al. 2021, Sec. V, Fig. 3) on sparse
# communication graphs: Cora, Citeseer and Pubmed split among 5, 10, 15 and 20 agents by
# breadth-first search, the distributed GCN against the centralized GCN and an MLP.
#
#   bench/paper.sh [--seeds N] [--datasets "cora citeseer pubmed"] [--agents "5 10 15 20"]
#                  [--topologies "ring exponential sparse:2M"] [--methods "dgd default"]
#                  [--jobs J] [--out DIR]
#
# Every run: --partition bfs --cross-edges relay (data edges across missing links are forwarded,
# none dropped, no required link added), --init-per-agent --dropout-per-agent, no averaging rounds
# at the end, --transport inproc. Each seed is its own `dgcn train --seed S --seeds 1`, so every
# seed draws its own BFS partition, initialization and dropout. "sparse:2M" is the budget design
# grown from no links with 2M links (docs/topologies.md). Methods:
#   dgd      the paper's DGD, one params exchange per iteration, with the diminishing step chosen
#            on validation accuracy by `bench/paper.sh --scan-dgd` (DGD_FLAGS below), 400 iterations
#   default  dgcn train's defaults (no optimizer, step or rounds option), 200 iterations
# The centralized GCN and the MLP (`dgcn baseline`, seeds 1..N) run once per dataset and length.
# Writes DIR/table.md (one row per dataset, agents, topology, method) and keeps every run
# directory under DIR (default runs/paper).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
dgcn="$here/build/coordinator/dgcn"
seeds=10 datasets="cora citeseer pubmed" agents="5 10 15 20" topologies="ring exponential sparse:2M"
methods="dgd default" jobs=1 out="$here/runs/paper" scan=0
DGD_FLAGS="${DGD_FLAGS:---optimizer dgd --lr 10 --lr-decay 100 --lr-power 1 --lr-cooldown 0 --gossip-rounds 1 --iters 400}"
DEFAULT_FLAGS="${DEFAULT_FLAGS:---iters 200}"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) seeds=$2; shift 2 ;;
    --datasets) datasets=$2; shift 2 ;;
    --agents) agents=$2; shift 2 ;;
    --topologies) topologies=$2; shift 2 ;;
    --methods) methods=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --scan-dgd) scan=1; shift ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "paper.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
export OPENBLAS_NUM_THREADS=1

# one_run DIR FLAGS...: a dgcn train run into DIR unless DIR/summary.json exists.
one_run() {
  local dir="$1"; shift
  [ -s "$dir/summary.json" ] && return 0
  "$dgcn" train "$@" --partition bfs --cross-edges relay --init-per-agent --dropout-per-agent \
    --transport inproc --no-baselines --quiet --force --out "$dir" > "$dir.log" 2>&1 ||
    { echo "paper.sh: failed: dgcn train $* (see $dir.log)" >&2; return 1; }
}
export -f one_run
export dgcn

if [ "$scan" = 1 ]; then
  # The DGD step schedule, chosen on the validation accuracy of Citeseer and Cora, 10 agents, on a
  # ring, seeds 1-3: lr in {2, 5, 10, 20}, D in {50, 100, 200}, power 1, 400 iterations.
  printf '| lr | decay | cora val | citeseer val | mean val |\n|---:|---:|---:|---:|---:|\n'
  for lr in 2 5 10 20; do
    for d in 50 100 200; do
      for ds in cora citeseer; do
        for s in 1 2 3; do
          echo "$out/scan/$ds-lr$lr-d$d-s$s --data $data/$ds --agents 10 --topology ring --seed $s --seeds 1 --optimizer dgd --lr $lr --lr-decay $d --lr-power 1 --lr-cooldown 0 --gossip-rounds 1 --iters 400"
        done
      done
    done
  done | { mkdir -p "$out/scan"; xargs -P "$jobs" -L 1 bash -c 'one_run "$@"' _; }
  /usr/bin/python3 - "$out/scan" <<'PY'
import json, sys, glob, statistics as st
d = sys.argv[1]
def val(p):
    last = [json.loads(l) for l in open(p + "/metrics.jsonl")][-1]
    return last["val_acc"]
for lr in (2, 5, 10, 20):
    for dec in (50, 100, 200):
        v = {ds: st.mean(val("%s/%s-lr%d-d%d-s%d" % (d, ds, lr, dec, s)) for s in (1, 2, 3))
             for ds in ("cora", "citeseer")}
        print("| %d | %d | %.2f | %.2f | %.2f |" % (lr, dec, 100 * v["cora"], 100 * v["citeseer"],
              50 * (v["cora"] + v["citeseer"])))
PY
  exit 0
fi

# Baselines: centralized GCN and MLP per dataset and training length (200 and 400 epochs).
for ds in $datasets; do
  for ep in 200 400; do
    for model in gcn mlp; do
      b="$out/baseline-$ds-$model-$ep"
      [ -s "$b/summary.json" ] || "$dgcn" baseline --data "$data/$ds" --model "$model" --seeds "$seeds" \
        --seed 1 --epochs "$ep" --out "$b" > "$b.log" 2>&1
    done
  done
done

# The distributed runs, one line of arguments each, J at a time.
for ds in $datasets; do
  for m in $agents; do
    for topo in $topologies; do
      spec="${topo//2M/$((2 * m))}"
      for meth in $methods; do
        case "$meth" in
          dgd) flags="$DGD_FLAGS" ;;
          default) flags="$DEFAULT_FLAGS" ;;
          *) echo "paper.sh: unknown method $meth" >&2; exit 2 ;;
        esac
        for s in $(seq 1 "$seeds"); do
          d="$out/$ds-m$m-${topo//:/}-$meth/s$s"
          mkdir -p "$(dirname "$d")"
          echo "$d --data $data/$ds --agents $m --topology $spec --seed $s --seeds 1 $flags"
        done
      done
    done
  done
done | xargs -P "$jobs" -L 1 bash -c 'one_run "$@"' _

/usr/bin/python3 - "$out" "$seeds" "$datasets" "$agents" "$topologies" "$methods" > "$out/table.md" <<'PY'
import json, os, sys, statistics as st
out, seeds = sys.argv[1], int(sys.argv[2])
datasets, agents, topologies, methods = (a.split() for a in sys.argv[3:7])
def ms(xs):
    return (100 * st.mean(xs), 100 * (st.stdev(xs) if len(xs) > 1 else 0.0))
def base(ds, model, ep):
    s = json.load(open("%s/baseline-%s-%s-%d/summary.json" % (out, ds, model, ep)))
    return 100 * s["test_acc_mean"], 100 * s["test_acc_std"]
print("| dataset | agents | topology | links used / possible | method | R | iters | distributed GCN | "
      "centralized GCN | MLP | gap | consensus error | params msgs / link / iter | bytes/iter | "
      "centralized by construction |")
print("|---|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
for ds in datasets:
    for m in agents:
        for topo in topologies:
            for meth in methods:
                d = "%s/%s-m%s-%s-%s" % (out, ds, m, topo.replace(":", ""), meth)
                acc, cons, bpi, links, rounds, cen, iters, pm = [], [], [], [], set(), set(), 0, []
                for s in range(1, seeds + 1):
                    r = "%s/s%d" % (d, s)
                    if not os.path.exists(r + "/summary.json"):
                        continue
                    sm = json.load(open(r + "/summary.json"))
                    cf = json.load(open(r + "/config.json"))
                    acc.append(sm["test_acc_mean"])
                    cons.append(sm["consensus_error"])
                    bpi.append(sm["bytes_per_iter"])
                    links.append(cf["topology_links"])
                    rounds.add(cf["run_config"]["gossip_rounds"])
                    iters = sm["iterations"]
                    cen.add(bool(sm.get("effectively_centralized", sm.get("centralized_by_construction", 0))))
                    # params messages per link direction per training iteration (one message =
                    # the optimizer's message length; measured bytes / (2 links * msg bytes))
                    if "params_msgs_per_link_iter" in sm:
                        pm.append(sm["params_msgs_per_link_iter"])
                if not acc:
                    continue
                mm = int(m)
                c, cs = base(ds, "gcn", iters)
                mlp, _ = base(ds, "mlp", iters)
                a, sd = ms(acc)
                print("| %s | %d | %s | %.0f / %d | %s | %s | %d | %.2f +- %.2f (%d) | %.2f +- %.2f | %.2f | "
                      "%+.2f | %.1e | %s | %.3g | %s |" % (
                          ds, mm, topo.replace("2M", str(2 * mm)), st.mean(links), mm * (mm - 1) // 2,
                          meth, "/".join(str(x) for x in sorted(rounds, key=str)), iters, a, sd,
                          len(acc), c, cs, mlp, a - c, st.mean(cons),
                          "%.2f" % st.mean(pm) if pm else "-", st.mean(bpi),
                          "yes" if any(cen) else "no"))
PY
cat "$out/table.md"
