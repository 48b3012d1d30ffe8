/* graph/generate.c: the contextual stochastic block model (CSBM) of graph/generate.h.
 *
 * Edges are drawn one at a time: with probability `homophily` an intra-class pair (a uniform node
 * and a uniform other member of its class), otherwise an inter-class pair; self-loops and repeats
 * (found in an open-addressing hash set) are redrawn within the same kind, so the intra-class
 * fraction is kept. O(n + E) expected time, plus O(E log deg) to sort the CSR rows. */
#include "graph/generate.h"

#include "core/error.h"
#include "core/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

dgcn_csbm_params dgcn_csbm_defaults(void) {
    dgcn_csbm_params p;
    p.n = 2000;
    p.c = 5;
    p.avg_degree = 8.0;
    p.homophily = 0.7;
    p.d = 500;
    p.feat_nnz = 20;
    p.signal = 0.25;
    p.train_per_class = 20;
    p.n_val = 500;
    p.n_test = 1000;
    p.seed = 1;
    return p;
}

static int s_validate(const dgcn_csbm_params *p) {
#define S_BAD(field, ...) return dgcn_error_set(DGCN_EINVAL, "csbm: " field ": " __VA_ARGS__)
    if (p->n < 2) S_BAD("n", "expected >= 2 nodes, found %d", (int)p->n);
    if (p->c < 1 || p->c > p->n / 2)
        S_BAD("c", "expected 1 <= classes <= n/2 = %d, found %d", (int)(p->n / 2), (int)p->c);
    if (!(p->avg_degree >= 0.0) || p->avg_degree > (p->n - 1) / 4.0)
        S_BAD("avg_degree", "expected 0 <= degree <= (n-1)/4 = %g, found %g", (p->n - 1) / 4.0,
              p->avg_degree);
    if (!(p->homophily >= 0.0 && p->homophily <= 1.0))
        S_BAD("homophily", "expected a fraction in [0, 1], found %g", p->homophily);
    if (p->c == 1 && p->homophily < 1.0 && p->avg_degree > 0.0)
        S_BAD("homophily", "with one class every edge is intra-class; expected 1, found %g",
              p->homophily);
    if (p->d < p->c)
        S_BAD("d", "expected feature dimension >= classes (%d), found %d", (int)p->c, (int)p->d);
    if (p->feat_nnz < 0 || p->feat_nnz > p->d)
        S_BAD("feat_nnz", "expected 0 <= active features <= d = %d, found %d", (int)p->d,
              (int)p->feat_nnz);
    if (!(p->signal >= 0.0 && p->signal <= 1.0))
        S_BAD("signal", "expected a fraction in [0, 1], found %g", p->signal);
    if ((int32_t)lround(p->signal * p->feat_nnz) > p->d / p->c)
        S_BAD("signal", "signal * feat_nnz = %ld exceeds the class block of d/c = %d columns",
              lround(p->signal * p->feat_nnz), (int)(p->d / p->c));
    if (p->train_per_class < 0 || p->n_val < 0 || p->n_test < 0)
        S_BAD("split", "expected non-negative sizes, found train_per_class %d, n_val %d, n_test %d",
              (int)p->train_per_class, (int)p->n_val, (int)p->n_test);
    if ((int64_t)p->train_per_class * p->c > p->n / p->c * (int64_t)p->c)
        S_BAD("train_per_class", "expected <= n/c = %d nodes per class, found %d",
              (int)(p->n / p->c), (int)p->train_per_class);
    if ((int64_t)p->train_per_class * p->c + p->n_val + p->n_test > p->n)
        S_BAD("n_test", "train_per_class*c + n_val + n_test = %lld exceeds n = %d",
              (long long)p->train_per_class * p->c + p->n_val + p->n_test, (int)p->n);
#undef S_BAD
    return DGCN_OK;
}

/* Open-addressing set of undirected pairs (key = lo * 2^32 + hi + 1, 0 = empty). */
typedef struct s_pairset {
    uint64_t *slot;
    uint64_t mask;
} s_pairset;

/* Inserts (a, b); returns 1 when new, 0 when already present. */
static int s_pairset_add(s_pairset *s, int32_t a, int32_t b) {
    uint64_t lo = (uint64_t)(a < b ? a : b), hi = (uint64_t)(a < b ? b : a);
    uint64_t key = (lo << 32 | hi) + 1;
    uint64_t h = dgcn_mix64(key) & s->mask;
    while (s->slot[h]) {
        if (s->slot[h] == key) return 0;
        h = (h + 1) & s->mask;
    }
    s->slot[h] = key;
    return 1;
}

int dgcn_generate_csbm(dgcn_dataset *ds, const dgcn_csbm_params *p) {
    int rc = DGCN_OK;
    int32_t *members = NULL;        /* (n) node ids grouped by class */
    int32_t *start = NULL;          /* (c + 1) offsets into members */
    int32_t *eu = NULL, *ev = NULL; /* (E) edges */
    int32_t *perm = NULL;           /* (n) */
    int32_t *taken = NULL;          /* (c) training nodes taken per class */
    s_pairset set = {0};
    memset(ds, 0, sizeof *ds);
    DGCN_CHECK(s_validate(p));
    int32_t n = p->n, c = p->c;
    dgcn_rng r;
    dgcn_rng_seed(&r, p->seed, DGCN_STREAM_GENERATE);

    snprintf(ds->name, sizeof ds->name, "csbm");
    ds->n = n;
    ds->c = c;
    ds->d = p->d;
    ds->has_features = 1;
    DGCN_ALLOC(ds->label, n);
    DGCN_ALLOC(ds->split, n);
    DGCN_ALLOC(perm, n);

    /* Classes: a random permutation of balanced labels (sizes differ by at most one). */
    for (int32_t i = 0; i < n; i++) perm[i] = i;
    dgcn_rng_shuffle_int(&r, perm, n);
    for (int32_t i = 0; i < n; i++) ds->label[perm[i]] = i % c;
    DGCN_ALLOC(start, c + 1);
    DGCN_ALLOC(members, n);
    for (int32_t i = 0; i < n; i++) start[ds->label[i] + 1]++;
    for (int32_t k = 0; k < c; k++) start[k + 1] += start[k];
    DGCN_ALLOC(taken, c); /* first used as fill counts per class, then reset */
    for (int32_t i = 0; i < n; i++) members[start[ds->label[i]] + taken[ds->label[i]]++] = i;
    memset(taken, 0, (size_t)c * sizeof *taken);

    /* Edges. */
    int64_t n_edges = llround(p->avg_degree * n / 2.0);
    DGCN_ALLOC(eu, n_edges);
    DGCN_ALLOC(ev, n_edges);
    uint64_t cap = 16;
    while (cap < (uint64_t)n_edges * 2) cap <<= 1;
    DGCN_ALLOC(set.slot, cap);
    set.mask = cap - 1;
    int64_t attempts = 0, max_attempts = 50 * n_edges + 1000;
    for (int64_t e = 0; e < n_edges; e++) {
        int intra = dgcn_rng_uniform(&r) < p->homophily;
        for (;;) {
            if (++attempts > max_attempts) {
                rc = dgcn_error_set(DGCN_EINVAL,
                                    "csbm: avg_degree: could not place %lld distinct "
                                    "edges (graph too dense for the class sizes)",
                                    (long long)n_edges);
                goto fail;
            }
            int32_t a = (int32_t)dgcn_rng_below(&r, (uint64_t)n), b;
            int32_t ca = ds->label[a];
            if (intra) {
                b = members[start[ca] +
                            (int32_t)dgcn_rng_below(&r, (uint64_t)(start[ca + 1] - start[ca]))];
            } else {
                int32_t cb = (ca + 1 + (int32_t)dgcn_rng_below(&r, (uint64_t)(c - 1))) % c;
                b = members[start[cb] +
                            (int32_t)dgcn_rng_below(&r, (uint64_t)(start[cb + 1] - start[cb]))];
            }
            if (a == b || !s_pairset_add(&set, a, b)) continue;
            eu[e] = a;
            ev[e] = b;
            break;
        }
    }
    ds->n_edges = n_edges;
    DGCN_CHECK(dgcn_csr_from_edges(&ds->adj, n, eu, ev, n_edges));

    /* Features: round(signal * feat_nnz) distinct columns from the class block, the rest
     * uniform over all d columns (distinct from those already chosen); values 1. */
    int32_t k = p->feat_nnz, block = p->d / c;
    int32_t ns = (int32_t)lround(p->signal * k);
    DGCN_CHECK(dgcn_csr_init(&ds->x, n, p->d, (int64_t)n * k));
    for (int32_t i = 0; i < n; i++) {
        int32_t *cols = ds->x.col + (int64_t)i * k;
        for (int32_t j = 0; j < k; j++) {
            int32_t cnd;
            int dup;
            do {
                cnd = j < ns ? ds->label[i] * block + (int32_t)dgcn_rng_below(&r, (uint64_t)block)
                             : (int32_t)dgcn_rng_below(&r, (uint64_t)p->d);
                dup = 0;
                for (int32_t q = 0; q < j; q++) dup |= cols[q] == cnd;
            } while (dup);
            cols[j] = cnd;
        }
        for (int32_t j = 1; j < k; j++)
            for (int32_t q = j; q > 0 && cols[q - 1] > cols[q]; q--) {
                int32_t tmp = cols[q];
                cols[q] = cols[q - 1];
                cols[q - 1] = tmp;
            }
        ds->x.rowptr[i + 1] = ds->x.rowptr[i] + k;
    }
    for (int64_t q = 0; q < ds->x.nnz; q++) ds->x.val[q] = 1.0f;

    /* Split: walk a fresh permutation; the first train_per_class nodes of each class train, then
     * n_val nodes validate and n_test test. */
    for (int32_t i = 0; i < n; i++) perm[i] = i;
    dgcn_rng_shuffle_int(&r, perm, n);
    int32_t val_left = p->n_val, test_left = p->n_test;
    for (int32_t i = 0; i < n; i++) {
        int32_t v = perm[i], cl = ds->label[v];
        if (taken[cl] < p->train_per_class) {
            taken[cl]++;
            ds->split[v] = DGCN_SPLIT_TRAIN;
            ds->n_train++;
        }
    }
    for (int32_t i = 0; i < n; i++) {
        int32_t v = perm[i];
        if (ds->split[v] != DGCN_SPLIT_NONE) continue;
        if (val_left > 0) {
            ds->split[v] = DGCN_SPLIT_VAL;
            val_left--;
            ds->n_val++;
        } else if (test_left > 0) {
            ds->split[v] = DGCN_SPLIT_TEST;
            test_left--;
            ds->n_test++;
        }
    }

    rc = DGCN_OK;
fail:
    free(set.slot);
    free(members);
    free(start);
    free(eu);
    free(ev);
    free(perm);
    free(taken);
    if (rc) dgcn_dataset_fini(ds);
    return rc;
}
