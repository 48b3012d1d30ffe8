"""bench/traffic_lstsq.py: the least-squares optimum of graph filters of order 0..3 on a traffic folder.

Usage: /usr/bin/python3 bench/traffic_lstsq.py DIR [--orders 0,1,2,3]
       /usr/bin/python3 bench/traffic_lstsq.py DIR --check S1,S2,...
DIR is from `dgcn generate --kind traffic`, or holds data.npz and distance.csv. Same samples as
`dgcn traffic`: 12 past steps of feature 0 -> next step, split 6:2:2 in time order, z-score from the
training steps; one filter layer with bias on [A_hat^k X] for k = 0..K; prints test MSE and MAE in
z-score units. Needs numpy.

--check prints what an independent reader of the files finds, for tests/test_traffic.c to compare
with the C reader (graph/traffic.c): a line `shape T N F`, a line `split n_train n_val n_test`, a
line `zscore mean std`, a line `graph links` (undirected, repeats counted once), then for each
sample s listed and every sensor i a line `s i x_0 .. x_11 y` of the z-scored window and target.
"""
import csv
import sys

import numpy as np


def load(d):
    raw = np.load(d + '/data.npz')['data']
    if raw.ndim == 2:
        raw = raw[:, :, None]
    X = raw[:, :, 0].astype(np.float64)
    T, N = X.shape
    A = np.zeros((N, N))
    for r in csv.DictReader(open(d + '/distance.csv')):
        a, b = int(r['from']), int(r['to'])
        A[a, b] = A[b, a] = 1
    return raw.shape, X, A


def main():
    d = sys.argv[1]
    args = sys.argv[2:]
    shape, X, A = load(d)
    T, N = X.shape
    L = 12
    S = T - L
    ntr = int(0.6 * S)
    nva = int(0.2 * S)
    mu = X[:ntr + L].mean()
    sd = X[:ntr + L].std()
    Z = (X - mu) / sd
    if args and args[0] == '--check':
        print('shape %d %d %d' % shape)
        print('split %d %d %d' % (ntr, nva, S - ntr - nva))
        print('zscore %.10g %.10g' % (mu, sd))
        print('graph %d' % int(np.triu(A, 1).sum()))
        for s in (int(v) for v in args[1].split(',')):
            for i in range(N):
                print('%d %d ' % (s, i) + ' '.join('%.8g' % v for v in Z[s:s + L, i]) +
                      ' %.8g' % Z[s + L, i])
        return
    orders = [0, 1, 2, 3]
    if args and args[0] == '--orders':
        orders = [int(v) for v in args[1].split(',')]
    At = A + np.eye(N)
    dg = At.sum(1)
    Ah = At / np.sqrt(np.outer(dg, dg))
    W = np.stack([Z[s:s + L] for s in range(S)])  # (S, L, N)
    Y = np.stack([Z[s + L] for s in range(S)])  # (S, N)

    def feats(K):
        fs = []
        P = W
        for k in range(K + 1):
            fs.append(P)  # (S, L, N)
            P = np.einsum('ij,slj->sli', Ah, P)
        F = np.concatenate(fs, 1)  # (S, (K+1)L, N)
        return np.transpose(F, (0, 2, 1))  # (S, N, f)

    for K in orders:
        F = feats(K)
        Ftr = F[:ntr].reshape(-1, F.shape[2])
        Ytr = Y[:ntr].reshape(-1)
        Ftr = np.hstack([Ftr, np.ones((len(Ftr), 1))])
        w = np.linalg.lstsq(Ftr, Ytr, rcond=None)[0]
        Fte = F[ntr + nva:].reshape(-1, F.shape[2])
        Fte = np.hstack([Fte, np.ones((len(Fte), 1))])
        e = Fte @ w - Y[ntr + nva:].reshape(-1)
        print(K, 'test MSE %.4f MAE %.4f' % ((e ** 2).mean(), np.abs(e).mean()))


main()
