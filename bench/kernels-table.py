#!/usr/bin/python3
"""bench/kernels-table.py: the Markdown table of bench/kernels-session.sh records.

Usage: /usr/bin/python3 bench/kernels-table.py OUT.jsonl [MORE.jsonl...]
Per dataset: accuracy (mean +- std over the seeds) of dgcn after and of the reference; the median
over the runs of each program of its median wall time and of its CPU time per epoch; the reference
against after and after against before in both; and the 1-minute load average before every run.
A dataset whose runs are not all there (a session cut short) gets "-" where a figure is missing.
"""
import json
import statistics
import sys


def fmt(x):
    if x != x:
        return "-"
    return "%.3f" % x if x < 10 else "%.1f" % x


def main():
    rows = [json.loads(line) for f in sys.argv[1:] for line in open(f)]
    order = []
    for r in rows:
        if r["dataset"] not in order:
            order.append(r["dataset"])
    print("| dataset | seeds | dgcn acc | reference acc | before ms (wall / CPU) | after ms (wall / CPU) "
          "| reference ms (wall / CPU) | reference / after (wall / CPU) | after / before (wall / CPU) "
          "| load before each run |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for d in order:
        rs = [r for r in rows if r["dataset"] == d]

        def pick(role, key):
            v = [r[key] for r in rs if r["role"] == role]
            return statistics.median(v) if v else float("nan")

        def acc(role):
            v = [r for r in rs if r["role"] == role]
            return "-" if not v else "%.2f +- %.2f" % (100 * v[0]["test_acc_mean"], 100 * v[0]["test_acc_std"])

        def ratio(a, b):
            return "-" if a != a or b != b else "%.1fx" % (a / b)

        aw, ac = pick("after", "ms_per_epoch_median"), pick("after", "cpu_ms_per_epoch")
        bw, bc = pick("before", "ms_per_epoch_median"), pick("before", "cpu_ms_per_epoch")
        rw, rc = pick("reference", "ms_per_epoch_median"), pick("reference", "cpu_ms_per_epoch")
        seeds = [r["seeds"] for r in rs if r["role"] == "after"]
        loads = ", ".join(r["loadavg_before"].split()[0] for r in rs)
        print("| %s | %s | %s | %s | %s / %s | %s / %s | %s / %s | %s / %s | %s / %s | %s |" % (
            d, seeds[0] if seeds else "-", acc("after"), acc("reference"), fmt(bw), fmt(bc), fmt(aw),
            fmt(ac), fmt(rw), fmt(rc), ratio(rw, aw), ratio(rc, ac), ratio(bw, aw), ratio(bc, ac), loads))


if __name__ == "__main__":
    sys.exit(main())
