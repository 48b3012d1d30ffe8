/* coordinator/observe.h: what the coordinator computes from the agents' reports.
 *
 * The consensus error of the parameter copies and the curves of a run (one point per evaluated
 * iteration, averaged over seeds) from which a study reads how fast a run approached a target. */
#ifndef DGCN_COORDINATOR_OBSERVE_H
#define DGCN_COORDINATOR_OBSERVE_H

#include <stddef.h>
#include <stdint.h>

/* max_k ||theta_k - mean|| / ||mean|| over the m copies (rows of params); the absolute distance
 * when the mean is zero. mean is a workspace of np doubles. O(m np) time, one pass per copy. */
double dgcn_observe_consensus_error(const float *params /* (m, np) */, int32_t m, int64_t np,
                                    double *mean /* (np) workspace */);

/* Effectively centralized: a run whose agents agree so fast, or are so densely linked, that it
 * says little about distributed optimization. DGCN_OBSERVE_CONTRACTION: a per-iteration
 * contraction of the disagreement below it; DGCN_OBSERVE_PAIRS: more than that fraction of the
 * M(M-1)/2 agent pairs linked. */
#define DGCN_OBSERVE_CONTRACTION 1e-3
#define DGCN_OBSERVE_PAIRS 0.9

/* The factor by which R rounds of plain gossip with mixing matrix C shrink the disagreement:
 * SLEM(C)^R (NaN when slem is). An accelerated scheme supplies its own factor instead (Chebyshev:
 * 1 / T_R(1 / SLEM)). */
double dgcn_observe_gossip_contraction(double slem, int rounds);

/* 1 when links of the m(m-1)/2 possible pairs exceed DGCN_OBSERVE_PAIRS of them, or the
 * per-iteration contraction is below DGCN_OBSERVE_CONTRACTION (a NaN contraction never is);
 * reason[cap] then says which (both when both hold), else "". */
int dgcn_observe_centralized(int64_t links, int32_t m, double contraction_per_iter, char *reason,
                             size_t cap);

/* A run's curves: point j is evaluated iteration iter[j] (increasing), with the training loss,
 * the consensus error, the bytes moved so far and the accuracies, summed over the seeds that
 * reported it (the accessors below divide by seeds[j]). */
typedef struct dgcn_curve {
    int n;              /* points */
    int64_t *iter;      /* (n) */
    double *train_loss; /* (n) */
    double *consensus;  /* (n) */
    double *bytes_cum;  /* (n) bytes sent by all agents since the seed started (halo + params) */
    double *val_acc;    /* (n) */
    double *test_acc;   /* (n) */
    int *seeds;         /* (n) seeds that reported point j */
} dgcn_curve;

/* One seed's figures at one evaluated iteration. */
typedef struct dgcn_curve_point {
    int64_t iter;
    double train_loss, consensus;
    double bytes_cum; /* bytes, all agents, since the seed started */
    double val_acc, test_acc;
} dgcn_curve_point;

/* A curve with room for n points (all zero, n = 0 used); on failure c is safe to fini. */
int dgcn_curve_init(dgcn_curve *c, int capacity);
void dgcn_curve_fini(dgcn_curve *c);

/* Adds one seed's value at iteration iter (a new point when iter is not there yet; points must be
 * added in increasing iteration order within a seed, and every seed reports the same ones). */
int dgcn_curve_add(dgcn_curve *c, int capacity, int64_t iter, double train_loss, double consensus);

/* The same for every figure of a point (dgcn_curve_add leaves the others 0). */
int dgcn_curve_add_point(dgcn_curve *c, int capacity, const dgcn_curve_point *p);

/* The mean over seeds of point j's figures. */
double dgcn_curve_loss(const dgcn_curve *c, int j);
double dgcn_curve_consensus(const dgcn_curve *c, int j);
double dgcn_curve_bytes(const dgcn_curve *c, int j);
double dgcn_curve_val_acc(const dgcn_curve *c, int j);
double dgcn_curve_test_acc(const dgcn_curve *c, int j);

/* The first iteration whose seed-mean training loss is <= target, or -1 when none is. */
int64_t dgcn_curve_iters_to_loss(const dgcn_curve *c, double target);

#endif
