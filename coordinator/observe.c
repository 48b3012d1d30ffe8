/* coordinator/observe.c: consensus error and run curves (observe.h). */
#include "coordinator/observe.h"

#include "core/error.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

double dgcn_observe_consensus_error(const float *params, int32_t m, int64_t np, double *mean) {
    memset(mean, 0, sizeof *mean * (size_t)np);
    for (int32_t k = 0; k < m; k++) {
        const float *x = params + (size_t)k * (size_t)np;
        for (int64_t i = 0; i < np; i++) mean[i] += x[i];
    }
    double mean_norm = 0, worst = 0;
    for (int64_t i = 0; i < np; i++) {
        mean[i] /= m;
        mean_norm += mean[i] * mean[i];
    }
    for (int32_t k = 0; k < m; k++) {
        const float *x = params + (size_t)k * (size_t)np;
        double d = 0;
        for (int64_t i = 0; i < np; i++) {
            double e = x[i] - mean[i];
            d += e * e;
        }
        if (d > worst) worst = d;
    }
    return mean_norm > 0 ? sqrt(worst / mean_norm) : sqrt(worst);
}

double dgcn_observe_gossip_contraction(double slem, int rounds) {
    return pow(slem, rounds < 1 ? 1 : rounds);
}

int dgcn_observe_centralized(int64_t links, int32_t m, double contraction_per_iter, char *reason,
                             size_t cap) {
    int64_t pairs = (int64_t)m * (m - 1) / 2;
    int dense = pairs > 0 && (double)links > DGCN_OBSERVE_PAIRS * (double)pairs;
    int fast = contraction_per_iter < DGCN_OBSERVE_CONTRACTION; /* false for NaN */
    size_t off = 0;
    if (cap) reason[0] = '\0';
    if (dense && off < cap)
        off += (size_t)snprintf(reason + off, cap - off,
                                "%lld of %lld agent pairs linked (more than %.0f %%)",
                                (long long)links, (long long)pairs, 100 * DGCN_OBSERVE_PAIRS);
    if (fast && off < cap)
        snprintf(reason + off, cap - off,
                 "%sthe disagreement shrinks by %.3g per iteration (below %g): the copies agree "
                 "after every step",
                 dense ? "; " : "", contraction_per_iter, DGCN_OBSERVE_CONTRACTION);
    return dense || fast;
}

int dgcn_curve_init(dgcn_curve *c, int capacity) {
    int rc = DGCN_OK;
    memset(c, 0, sizeof *c);
    if (capacity < 1) capacity = 1;
    DGCN_ALLOC(c->iter, capacity);
    DGCN_ALLOC(c->train_loss, capacity);
    DGCN_ALLOC(c->consensus, capacity);
    DGCN_ALLOC(c->bytes_cum, capacity);
    DGCN_ALLOC(c->val_acc, capacity);
    DGCN_ALLOC(c->test_acc, capacity);
    DGCN_ALLOC(c->seeds, capacity);
    return DGCN_OK;
fail:
    dgcn_curve_fini(c);
    return rc;
}

void dgcn_curve_fini(dgcn_curve *c) {
    free(c->iter);
    free(c->train_loss);
    free(c->consensus);
    free(c->bytes_cum);
    free(c->val_acc);
    free(c->test_acc);
    free(c->seeds);
    memset(c, 0, sizeof *c);
}

int dgcn_curve_add_point(dgcn_curve *c, int capacity, const dgcn_curve_point *p) {
    int j = 0;
    while (j < c->n && c->iter[j] < p->iter) j++;
    if (j == c->n || c->iter[j] != p->iter) {
        if (c->n == capacity)
            return dgcn_error_set(DGCN_EINVAL, "curve: more than %d evaluated iterations",
                                  capacity);
        size_t tail = (size_t)(c->n - j);
        memmove(c->iter + j + 1, c->iter + j, sizeof *c->iter * tail);
        double *cols[] = {c->train_loss, c->consensus, c->bytes_cum, c->val_acc, c->test_acc};
        for (size_t k = 0; k < sizeof cols / sizeof *cols; k++) {
            memmove(cols[k] + j + 1, cols[k] + j, sizeof(double) * tail);
            cols[k][j] = 0;
        }
        memmove(c->seeds + j + 1, c->seeds + j, sizeof(int) * tail);
        c->iter[j] = p->iter;
        c->seeds[j] = 0;
        c->n++;
    }
    c->train_loss[j] += p->train_loss;
    c->consensus[j] += p->consensus;
    c->bytes_cum[j] += p->bytes_cum;
    c->val_acc[j] += p->val_acc;
    c->test_acc[j] += p->test_acc;
    c->seeds[j]++;
    return DGCN_OK;
}

int dgcn_curve_add(dgcn_curve *c, int capacity, int64_t iter, double train_loss, double consensus) {
    dgcn_curve_point p = {iter, train_loss, consensus, 0, 0, 0};
    return dgcn_curve_add_point(c, capacity, &p);
}

double dgcn_curve_bytes(const dgcn_curve *c, int j) { return c->bytes_cum[j] / c->seeds[j]; }

double dgcn_curve_val_acc(const dgcn_curve *c, int j) { return c->val_acc[j] / c->seeds[j]; }

double dgcn_curve_test_acc(const dgcn_curve *c, int j) { return c->test_acc[j] / c->seeds[j]; }

double dgcn_curve_loss(const dgcn_curve *c, int j) { return c->train_loss[j] / c->seeds[j]; }

double dgcn_curve_consensus(const dgcn_curve *c, int j) { return c->consensus[j] / c->seeds[j]; }

int64_t dgcn_curve_iters_to_loss(const dgcn_curve *c, double target) {
    for (int j = 0; j < c->n; j++)
        if (dgcn_curve_loss(c, j) <= target) return c->iter[j];
    return -1;
}
