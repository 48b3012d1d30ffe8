#!/usr/bin/env bash
# bench/kernels-session.sh: one side-by-side session of two dgcn builds (BEFORE and AFTER, each a
# build/ folder's bench_centralized) and the PyTorch reference on the datasets of bench/run.sh,
# interleaved per dataset as after, before, reference, after, before; every run's JSON line is
# written with the load average and CPU model taken just before it.
#
#   bench/kernels-session.sh BEFORE_BUILD AFTER_BUILD OUT.jsonl [DATASET...]
# A dataset row is "name seeds [options...]" as in bench/run.sh; BEFORE may be "-" (no before runs).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export OPENBLAS_NUM_THREADS=1
data="${DGCN_DATA:-$here/../shared/data}"
before=$1 after=$2 out=$3
shift 3
sets=("cora 10" "citeseer 10" "pubmed 5" "coauthor_physics 3" "amazon_computers 3" "github 3"
      "nell 3 --hidden 64 --dropout 0.1 --weight-decay 1e-5 --raw-counts")
if [ $# -gt 0 ]; then
  pick=()
  for want in "$@"; do for s in "${sets[@]}"; do [ "${s%% *}" = "$want" ] && pick+=("$s"); done; done
  sets=("${pick[@]}")
fi
cpu=$(lscpu | sed -n 's/^Model name: *//p')
note() { # note ROLE JSON: the line with the role, load average and CPU added
  printf '%s\n' "$2" | /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d["role"]=sys.argv[1]; d["loadavg_before"]=sys.argv[2]; d["cpu"]=sys.argv[3]; print(json.dumps(d))' "$1" "$3" "$cpu" >> "$out"
}
for s in "${sets[@]}"; do
  set -- $s
  name=$1 seeds=$2
  shift 2
  dir="$data/$name"
  for role in after before reference after before; do
    [ "$role" = before ] && [ "$before" = - ] && continue
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    case $role in
      after) j=$("$after/bench/bench_centralized" --data "$dir" --seeds "$seeds" "$@") ;;
      before)
        if [ $# -gt 0 ]; then continue; fi # the before build has no hyper-parameter options
        j=$("$before/bench/bench_centralized" --data "$dir" --seeds "$seeds") ;;
      reference)
        # the reference runs once per session (it takes 10-100x as long)
        j=$(/usr/bin/python3 "$here/bench/reference_gcn.py" "$dir" --seeds "$seeds" "$@") ;;
    esac
    note "$role" "$j" "$load"
    echo "$name $role load $load: $(printf '%s' "$j" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.3f ms/epoch, cpu %.3f ms/epoch, acc %.2f +- %.2f" % (d["ms_per_epoch_median"], d.get("cpu_ms_per_epoch", float("nan")), 100*d["test_acc_mean"], 100*d["test_acc_std"]))')" >&2
  done
done
