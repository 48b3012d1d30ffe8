#!/usr/bin/env bash
# bench/compare.sh: dgcn's centralized epoch against the PyTorch reference, side by side, with the
# machine's state recorded beside every figure.
#
#   bench/compare.sh [options] DATASET...
#
# For each DATASET (a folder under ../shared/data, or DGCN_DATA, or a path to a dataset folder) it
# runs dgcn (build/bench/bench_centralized) and the reference (/usr/bin/python3
# bench/reference_gcn.py) interleaved, A B A B ... for --rounds rounds, both on one thread, and takes
# the median over the rounds of each one's median epoch time (training step + validation
# evaluation). Every run records the 1-minute load average before and after it and the CPU time
# other processes used while it ran (from /proc/stat, minus the run's own; "others", in cores).
# A figure is marked "loaded" when its load before or its others exceeds --max-load; a row is
# loaded when any of its runs is. With --strict a loaded row is refused: its times are left out
# of the table and the status is 3.
# The record (CPU model, load, OpenBLAS core, commands, every run, the summary) is appended to
# bench/results/compare-<UTC date>.md; the summary table is also printed.
#
# Options:
#   --rounds N        A B pairs per dataset (default 2)
#   --seeds N         seeds per run, both sides (default 3)
#   --epochs E        epochs per seed (default 200)
#   --max-load L      the load a figure may be taken at (default 1)
#   --settle S        before each run wait up to S seconds for the load average to fall to
#                     --max-load (default 60; 0: do not wait)
#   --strict          refuse loaded figures (exit status 3 when any was)
#   --dgcn-args ARGS  extra options for bench_centralized (one string, split on spaces)
#   --ref-args ARGS   extra options for reference_gcn.py (one string, split on spaces)
#   --out FILE        the record (default bench/results/compare-<UTC date>.md)
#   --dry-run         print the commands and the machine, run nothing
#   -h, --help        this text
# Needs the release build (build/) and python3-torch (launch/setup.sh --bench).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
usage() { sed -n '2,/^# Needs/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; }
rounds=2 seeds=3 epochs=200 max_load=1 settle=60 strict=0 dry=0
dgcn_args="" ref_args="" out=""
datasets=()
need() { [ $# -ge 2 ] || { echo "compare.sh: $1 needs a value (see --help)" >&2; exit 2; }; }
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) need "$@"; rounds="$2"; shift 2 ;;
    --seeds) need "$@"; seeds="$2"; shift 2 ;;
    --epochs) need "$@"; epochs="$2"; shift 2 ;;
    --max-load) need "$@"; max_load="$2"; shift 2 ;;
    --settle) need "$@"; settle="$2"; shift 2 ;;
    --strict) strict=1; shift ;;
    --dgcn-args) need "$@"; dgcn_args="$2"; shift 2 ;;
    --ref-args) need "$@"; ref_args="$2"; shift 2 ;;
    --out) need "$@"; out="$2"; shift 2 ;;
    --dry-run) dry=1; shift ;;
    -h|--help) usage; exit 0 ;;
    -*) echo "compare.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) datasets+=("$1"); shift ;;
  esac
done
[ ${#datasets[@]} -gt 0 ] || { echo "compare.sh: name at least one dataset (see --help)" >&2; exit 2; }
for v in "$rounds" "$seeds" "$epochs" "$settle"; do
  case "$v" in ''|*[!0-9]*) echo "compare.sh: --rounds, --seeds, --epochs and --settle take whole numbers" >&2; exit 2 ;; esac
done
[ "$rounds" -ge 1 ] && [ "$seeds" -ge 1 ] && [ "$epochs" -ge 1 ] ||
  { echo "compare.sh: --rounds, --seeds and --epochs must be at least 1" >&2; exit 2; }
case "$max_load" in ''|*[!0-9.]*|*.*.*) echo "compare.sh: --max-load takes a number" >&2; exit 2 ;; esac

# shellcheck source=launch/env.sh
. "$here/launch/env.sh"
data="${DGCN_DATA:-$here/../shared/data}"
bench="$here/build/bench/bench_centralized"
py=/usr/bin/python3
dirs=()
for d in "${datasets[@]}"; do
  if [ -f "$d/meta.txt" ]; then dirs+=("$(cd "$d" && pwd)")
  elif [ -f "$data/$d/meta.txt" ]; then dirs+=("$(cd "$data/$d" && pwd)")
  else echo "compare.sh: no dataset $d (neither a folder with meta.txt nor $data/$d)" >&2; exit 2
  fi
done
if [ "$dry" = 0 ]; then
  [ -x "$bench" ] || { echo "compare.sh: build first (launch/setup.sh --bench)" >&2; exit 1; }
  $py -c 'import torch' 2>/dev/null || { echo "compare.sh: python3-torch missing (launch/setup.sh --bench)" >&2; exit 1; }
fi
[ -n "$out" ] || out="$here/bench/results/compare-$(date -u +%Y%m%d).md"
mkdir -p "$(dirname "$out")"

export CMP_ROUNDS="$rounds" CMP_SEEDS="$seeds" CMP_EPOCHS="$epochs" CMP_MAX_LOAD="$max_load"
export CMP_SETTLE="$settle" CMP_STRICT="$strict" CMP_DRY="$dry" CMP_DGCN_ARGS="$dgcn_args"
export CMP_REF_ARGS="$ref_args" CMP_OUT="$out" CMP_BENCH="$bench" CMP_HERE="$here"
exec "$py" - "${dirs[@]}" <<'PY'
import json, os, shlex, statistics, subprocess, sys, time

E = os.environ
rounds, seeds, epochs = int(E["CMP_ROUNDS"]), int(E["CMP_SEEDS"]), int(E["CMP_EPOCHS"])
max_load, settle = float(E["CMP_MAX_LOAD"]), int(E["CMP_SETTLE"])
strict, dry, here, out = E["CMP_STRICT"] == "1", E["CMP_DRY"] == "1", E["CMP_HERE"], E["CMP_OUT"]
dirs = sys.argv[1:]


def sh(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def load1():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def busy_seconds():
    """CPU time spent busy on all CPUs since boot, in seconds (/proc/stat: all but idle, iowait)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


cpu = next((l.split(":", 1)[1].strip() for l in sh(["lscpu"]).splitlines()
            if l.startswith("Model name")), "unknown")
ncpu = os.cpu_count()
def blas_core():
    p = subprocess.run([E["CMP_BENCH"], "--help"], capture_output=True, text=True,
                       env=dict(E, OPENBLAS_VERBOSE="2"))
    return next((l.split(":", 1)[1].strip() for l in (p.stdout + p.stderr).splitlines()
                 if l.startswith("Core:")), "unknown")


blas_core = blas_core() if not dry else "(dry run)"
commit = sh(["git", "-C", here, "rev-parse", "--short", "HEAD"]).strip() or "unknown"
if sh(["git", "-C", here, "status", "--porcelain", "--untracked-files=no"]).strip():
    commit += " (with uncommitted changes)"
torch_v = sh(["/usr/bin/python3", "-c", "import torch; print(torch.__version__)"]).strip() or "?"


def cmd_a(d):
    return [E["CMP_BENCH"], "--data", d, "--seeds", str(seeds), "--epochs", str(epochs)] + \
        shlex.split(E["CMP_DGCN_ARGS"])


def cmd_b(d):
    return ["/usr/bin/python3", os.path.join(here, "bench", "reference_gcn.py"), d,
            "--seeds", str(seeds), "--epochs", str(epochs), "--threads", "1"] + \
        shlex.split(E["CMP_REF_ARGS"])


def rel(c):
    return " ".join(shlex.quote(os.path.relpath(x, here) if x.startswith(here + "/") else x) for x in c)


def fingerprint(path):
    st = os.stat(path)
    return (st.st_size, st.st_mtime_ns)


bench_at_start = fingerprint(E["CMP_BENCH"]) if not dry else None


def run(cmd):
    if fingerprint(E["CMP_BENCH"]) != bench_at_start:
        sys.exit("compare.sh: %s changed during the session (rebuilt?): its figures would mix two "
                 "binaries; nothing recorded" % E["CMP_BENCH"])
    t_wait = time.time()
    while settle and load1() > max_load and time.time() - t_wait < settle:
        time.sleep(5)
    waited = time.time() - t_wait
    before, b0, t0 = load1(), busy_seconds(), time.time()
    c0 = os.times()
    p = subprocess.run(cmd, capture_output=True, text=True)
    c1 = os.times()
    wall, b1, after = time.time() - t0, busy_seconds(), load1()
    own = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    others = max(0.0, (b1 - b0 - own) / wall) if wall > 0 else 0.0
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        sys.exit("compare.sh: failed (status %d): %s" % (p.returncode, rel(cmd)))
    line = [l for l in p.stdout.splitlines() if l.startswith("{")][-1]
    r = json.loads(line)
    r.update(load_before=before, load_after=after, others=others, wall_s=wall, waited_s=waited)
    r["loaded"] = before > max_load or others > max_load
    return r


started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
load_start = open("/proc/loadavg").read().strip()
head = ["## Session %s" % started, "",
        "- CPU: %s (lscpu model name), %d CPUs; OpenBLAS core: %s (OPENBLAS_VERBOSE=2); "
        "PyTorch %s" % (cpu, ncpu, blas_core, torch_v),
        "- dgcn commit %s; %d rounds A B A B ..., %d seeds x %d epochs per run, one thread each"
        % (commit, rounds, seeds, epochs),
        "- a figure is loaded when the 1-minute load average before its run or the other "
        "processes' CPU use during it (others, cores) exceeds %g%s"
        % (max_load, "; loaded figures refused (--strict)" if strict else ""),
        "- /proc/loadavg at the start: %s" % load_start, "", "Commands (DIR: the dataset folder):", ""]
for d in dirs:
    head += ["    A: " + rel(cmd_a(d)), "    B: " + rel(cmd_b(d))]
print("\n".join(head), file=sys.stderr)
if dry:
    sys.exit(0)

runs = []
summary = []
refused_any = False
for d in dirs:
    name = os.path.basename(d.rstrip("/"))
    ra, rb = [], []
    for k in range(rounds):
        for side, cmd, acc in (("dgcn", cmd_a(d), ra), ("reference", cmd_b(d), rb)):
            r = run(cmd)
            acc.append(r)
            runs.append((name, k + 1, side, r))
            print("%s round %d %s: %.3f ms/epoch, load %.2f -> %.2f, others %.2f%s" % (
                name, k + 1, side, r["ms_per_epoch_median"], r["load_before"], r["load_after"],
                r["others"], " (loaded)" if r["loaded"] else ""), file=sys.stderr)
    ma = statistics.median(x["ms_per_epoch_median"] for x in ra)
    mb = statistics.median(x["ms_per_epoch_median"] for x in rb)
    loaded = any(x["loaded"] for x in ra + rb)
    worst = max(max(x["load_before"], x["others"]) for x in ra + rb)
    refused = strict and loaded
    refused_any |= refused
    summary.append((name, ra[0], rb[0], ma, mb, loaded, refused, worst))

ended = time.strftime("%H:%M:%S UTC", time.gmtime())
body = ["", "Runs (ms: the run's median epoch; cpu ms: its CPU time over its epochs, set-up "
        "included, where the program reports it; load: 1-minute average before -> after; others: "
        "cores other processes kept busy during the run):", "",
        "| dataset | round | impl | ms/epoch | cpu ms/epoch | test acc % | load | others | loaded |",
        "|---|---:|---|---:|---:|---:|---|---:|---|"]
for name, k, side, r in runs:
    refuse = strict and r["loaded"]
    ms = "refused" if refuse else "%.3f" % r["ms_per_epoch_median"]
    cpu = "-" if refuse or "cpu_ms_per_epoch" not in r else "%.3f" % r["cpu_ms_per_epoch"]
    body.append("| %s | %d | %s | %s | %s | %.2f +- %.2f | %.2f -> %.2f | %.2f | %s |" % (
        name, k, side, ms, cpu, 100 * r["test_acc_mean"], 100 * r["test_acc_std"],
        r["load_before"], r["load_after"], r["others"], "yes" if r["loaded"] else "no"))
table = ["| dataset | dgcn acc % | reference acc % | dgcn ms/epoch | reference ms/epoch | "
         "reference / dgcn | worst load | status |", "|---|---:|---:|---:|---:|---:|---:|---|"]
for name, a, b, ma, mb, loaded, refused, worst in summary:
    acc = "%.2f +- %.2f | %.2f +- %.2f" % (100 * a["test_acc_mean"], 100 * a["test_acc_std"],
                                           100 * b["test_acc_mean"], 100 * b["test_acc_std"])
    if refused:
        table.append("| %s | %s | refused | refused | - | %.2f | REFUSED (load > %g) |" % (
            name, acc, worst, max_load))
    else:
        table.append("| %s | %s | %.3f | %.2f | %.1fx | %.2f | %s |" % (
            name, acc, ma, mb, mb / ma, worst,
            "LOADED (load > %g): not a quiet-machine figure" % max_load if loaded else "ok"))
body += ["", "Summary (medians over the %d rounds; ended %s, /proc/loadavg %s):" % (
    rounds, ended, open("/proc/loadavg").read().strip()), ""] + table + [""]
new = not os.path.exists(out)
with open(out, "a") as f:
    if new:
        f.write("# dgcn against the PyTorch reference (bench/compare.sh)\n\n")
    f.write("\n".join(head + body) + "\n")
print("\n".join(table))
print("record: %s" % out, file=sys.stderr)
sys.exit(3 if refused_any else 0)
PY
