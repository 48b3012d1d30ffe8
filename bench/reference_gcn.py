#!/usr/bin/python3
"""bench/reference_gcn.py: the PyTorch reference GCN that dgcn's benchmarks are measured against.

Kipf and Welling's setup, as dgcn's baseline runs it: 2 layers, 16 hidden units, no bias, dropout
0.5 on each layer's input, Glorot-uniform weights, Adam lr 0.01, weight decay 5e-4 on the first
layer, 200 epochs, row-normalized features (binarized first when they are counts), A_hat =
D^-1/2 (A + I) D^-1/2 as a sparse tensor. Features are a sparse tensor by default (dropout on its
stored values, torch.sparse.mm for X W), the faster of the two common PyTorch forms; --dense-features
uses a dense X as pygcn does.
An epoch is one training step plus one evaluation forward on the validation nodes, as in dgcn.

The hyper-parameters can be changed as dgcn's (--hidden, --dropout, --weight-decay, --lr), and
--raw-counts keeps count features as counts (row-normalized) as dgcn's --raw-counts does.

Usage: /usr/bin/python3 bench/reference_gcn.py DATASET_DIR [--seeds N] [--epochs E] [--threads T]
       [--dense-features] [--hidden H] [--dropout P] [--weight-decay L2] [--lr LR] [--raw-counts]
Prints one JSON line: dataset, test accuracy mean/std, median ms per epoch, CPU ms per epoch (the
runs' process CPU time over their epochs, final evaluation included, as bench_centralized counts
it), peak RSS in MB.
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch


def read_ints(path):
    with open(path) as f:
        return [int(line) for line in f]


def load(folder, binarize, dense):
    meta = dict(line.split(" ", 1) for line in open(os.path.join(folder, "meta.txt")).read().splitlines())
    n, d = int(meta["num_nodes"]), int(meta["num_features"])
    labels = torch.tensor(read_ints(os.path.join(folder, "labels.txt")))
    rows, cols, vals = [], [], []
    with open(os.path.join(folder, "features.txt")) as f:
        for i, line in enumerate(f):
            parts = line.split()
            for pair in parts[2:]:
                j, v = pair.split(":")
                rows.append(i)
                cols.append(int(j))
                vals.append(1.0 if binarize else float(v))
    r, cidx, val = torch.tensor(rows), torch.tensor(cols), torch.tensor(vals)
    rowsum = torch.zeros(n).index_add_(0, r, val)
    rowsum[rowsum == 0] = 1
    val = val / rowsum[r]
    if dense:
        x = torch.zeros(n, d)
        x[r, cidx] = val
    else:
        x = torch.sparse_coo_tensor(torch.stack([r, cidx]), val, (n, d)).coalesce()
    eu, ev = [], []
    with open(os.path.join(folder, "edges.txt")) as f:
        for line in f:
            u, v = line.split()
            eu.append(int(u))
            ev.append(int(v))
    u = torch.tensor(eu + ev + list(range(n)))
    v = torch.tensor(ev + eu + list(range(n)))
    deg = torch.bincount(u, minlength=n).float()
    w = deg[u].rsqrt() * deg[v].rsqrt()
    adj = torch.sparse_coo_tensor(torch.stack([u, v]), w, (n, n)).coalesce()
    split = {k: torch.tensor(read_ints(os.path.join(folder, k + ".txt"))) for k in ("train", "val", "test")}
    return x, adj, labels, split, int(meta["num_classes"]), meta.get("feature_values") == "count"


class GCN(torch.nn.Module):
    def __init__(self, d, h, c, p):
        super().__init__()
        self.p = p
        self.w0 = torch.nn.Parameter(torch.empty(d, h))
        self.w1 = torch.nn.Parameter(torch.empty(h, c))
        torch.nn.init.xavier_uniform_(self.w0)
        torch.nn.init.xavier_uniform_(self.w1)

    def forward(self, x, adj):
        if x.is_sparse:
            v = torch.nn.functional.dropout(x.values(), self.p, self.training)
            xd = torch.sparse_coo_tensor(x.indices(), v, x.shape)
            h = torch.relu(torch.sparse.mm(adj, torch.sparse.mm(xd, self.w0)))
        else:
            x = torch.nn.functional.dropout(x, self.p, self.training)
            h = torch.relu(torch.sparse.mm(adj, x @ self.w0))
        h = torch.nn.functional.dropout(h, self.p, self.training)
        return torch.sparse.mm(adj, h @ self.w1)


def run(x, adj, labels, split, c, seed, a):
    torch.manual_seed(seed)
    epochs = a.epochs
    model = GCN(x.shape[1], a.hidden, c, a.dropout)
    opt = torch.optim.Adam([{"params": [model.w0], "weight_decay": a.weight_decay},
                            {"params": [model.w1], "weight_decay": 0.0}], lr=a.lr)
    tr, va, te = split["train"], split["val"], split["test"]
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        model.train()
        opt.zero_grad()
        out = model(x, adj)
        loss = torch.nn.functional.cross_entropy(out[tr], labels[tr])
        loss.backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            out = model(x, adj)
            torch.nn.functional.cross_entropy(out[va], labels[va])
        times.append((time.perf_counter() - t0) * 1e3)
    model.eval()
    with torch.no_grad():
        pred = model(x, adj).argmax(1)
    return (pred[te] == labels[te]).float().mean().item(), statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("data")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--epochs", type=int, default=200)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--dense-features", action="store_true")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--dropout", type=float, default=0.5)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--lr", type=float, default=0.01)
    ap.add_argument("--raw-counts", action="store_true", help="keep count features as counts")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    meta_counts = "feature_values count" in open(os.path.join(a.data, "meta.txt")).read()
    x, adj, labels, split, c, _ = load(a.data, binarize=meta_counts and not a.raw_counts,
                                       dense=a.dense_features)
    accs, ms = [], []
    cpu0 = time.process_time()
    for s in range(a.seeds):
        acc, m = run(x, adj, labels, split, c, s, a)
        accs.append(acc)
        ms.append(m)
    cpu_per_epoch = (time.process_time() - cpu0) * 1e3 / (a.seeds * a.epochs)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"impl": "pytorch-%s" % torch.__version__, "dataset": os.path.basename(a.data.rstrip("/")),
                      "test_acc_mean": statistics.mean(accs),
                      "test_acc_std": statistics.stdev(accs) if len(accs) > 1 else 0.0,
                      "ms_per_epoch_median": statistics.median(ms),
                      "cpu_ms_per_epoch": cpu_per_epoch, "peak_mb": peak_mb,
                      "seeds": a.seeds, "epochs": a.epochs, "threads": a.threads,
                      "features": "dense" if a.dense_features else "sparse",
                      "hidden": a.hidden, "dropout": a.dropout, "weight_decay": a.weight_decay,
                      "lr": a.lr, "raw_counts": int(a.raw_counts)}))


if __name__ == "__main__":
    sys.exit(main())
