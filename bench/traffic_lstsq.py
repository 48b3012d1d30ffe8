"""bench/traffic_lstsq.py: the least-squares optimum of graph filters of order 0..3 on a traffic folder.

Usage: /usr/bin/python3 bench/traffic_lstsq.py DIR   (DIR from `dgcn generate --kind traffic`, or
one with data.npz and distance.csv). Same samples as `dgcn traffic`: 12 past steps of feature 0 ->
next step, split 6:2:2 in time order, z-score from the training steps; one filter layer with bias
on [A_hat^k X] for k = 0..K; prints test MSE and MAE in z-score units. Needs numpy.
"""
import numpy as np, sys
d = sys.argv[1]
X = np.load(d + '/data.npz')['data'][:, :, 0].astype(np.float64)
T, N = X.shape
import csv
A = np.zeros((N, N))
for r in csv.DictReader(open(d + '/distance.csv')):
    a, b = int(r['from']), int(r['to']); A[a, b] = A[b, a] = 1
At = A + np.eye(N); dg = At.sum(1); Ah = At / np.sqrt(np.outer(dg, dg))
L = 12; S = T - L; ntr = int(0.6 * S); nva = int(0.2 * S)
mu = X[:ntr + L].mean(); sd = X[:ntr + L].std(); Z = (X - mu) / sd
W = np.stack([Z[s:s + L] for s in range(S)])  # (S, L, N)
Y = np.stack([Z[s + L] for s in range(S)])    # (S, N)
def feats(K):
    fs = []; P = W
    for k in range(K + 1):
        fs.append(P)  # (S, L, N)
        P = np.einsum('ij,slj->sli', Ah, P)
    F = np.concatenate(fs, 1)  # (S, (K+1)L, N)
    return np.transpose(F, (0, 2, 1))  # (S, N, f)
for K in range(4):
    F = feats(K)
    Ftr = F[:ntr].reshape(-1, F.shape[2]); Ytr = Y[:ntr].reshape(-1)
    Ftr = np.hstack([Ftr, np.ones((len(Ftr), 1))])
    w = np.linalg.lstsq(Ftr, Ytr, rcond=None)[0]
    Fte = F[ntr + nva:].reshape(-1, F.shape[2]); Fte = np.hstack([Fte, np.ones((len(Fte), 1))])
    e = Fte @ w - Y[ntr + nva:].reshape(-1)
    print(K, 'test MSE %.4f MAE %.4f' % ((e ** 2).mean(), np.abs(e).mean()))
