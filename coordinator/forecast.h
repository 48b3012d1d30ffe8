/* coordinator/forecast.h: the paper's traffic experiment (PAPER.md, "Experiments"): graph-signal
 * regression on a sensor graph with graph filters of order K (nn/gcn.h), centralized and over
 * agents.
 *
 * One run (dgcn_forecast_run) trains the filter of order K on the training samples of a series
 * (graph/traffic.h: 12-step windows, 6:2:2 split in time order, z-scored) in mini-batches of B
 * snapshots, twice from the same initial weights and the same batch order:
 *   centralized  the whole graph as one block, Adam;
 *   distributed  M agents (threads over the inproc transport, each holding only its own sensors'
 *                series) on the plan's topology (coordinator/plan.h) under its cross-edge policy:
 *                relay (the spec's links only; rows of agent pairs that share road links but no
 *                communication link are forwarded along shortest paths, the model unchanged),
 *                drop (the spec's links only; road links between such pairs are dropped and A_hat
 *                renormalized: a different model), keep (the required links added to the spec's)
 *                or strict; with a consensus optimizer, then final averaging rounds.
 * The centralized model is always the one on the whole sensor graph, so under drop the gap between
 * the two is what dropping costs. Only the inproc transport is supported.
 * Both report the squared and absolute error over the test samples, in z-score units. The model is
 * one filter layer from the lags to one output (K = 0: the linear model), or two with a ReLU
 * hidden layer of width hidden. */
#ifndef DGCN_COORDINATOR_FORECAST_H
#define DGCN_COORDINATOR_FORECAST_H

#include "graph/csr.h"
#include "graph/traffic.h"

#include <stdint.h>

typedef struct dgcn_forecast_opts {
    int32_t agents;          /* M [6] */
    const char *partition;   /* bfs|metis|random|block [bfs] */
    const char *topology;    /* topology spec [ring] */
    const char *cross_edges; /* relay|drop|keep|strict (coordinator/plan.h) [relay] */
    int32_t hidden;          /* 0: one filter layer [0]; else the hidden width */
    int32_t batch;           /* snapshots per mini-batch [32] */
    int32_t epochs;          /* passes over the training samples [40] */
    double lr;               /* Adam step (centralized) and consensus step (agents) [0.03] */
    double lr_decay;         /* step at iteration i: lr / (1 + i / (lr_decay * iterations)) [0.1];
                              * <= 0: constant */
    const char *optimizer;   /* consensus optimizer of the agents [gt-adam] */
    int32_t final_mixing;    /* averaging rounds after training [20] */
    int distributed;         /* also train over agents [1] */
    int deadline_ms;         /* bound on every exchange wait [30000] */
} dgcn_forecast_opts;

void dgcn_forecast_opts_defaults(dgcn_forecast_opts *o);

typedef struct dgcn_forecast_result {
    int32_t n_test_used;     /* test samples evaluated (a multiple of the batch) */
    int64_t iterations;      /* training steps */
    int64_t n_params;        /* floats in the parameter vector */
    double central_test_mse; /* centralized model */
    double central_test_mae;
    double test_mse; /* agents' model (mean over agents of their own copies) */
    double test_mae;
    double consensus_gap;          /* max over agents of |theta_k - mean| / |mean| after mixing */
    double halo_bytes_per_iter;    /* all agents, both directions, measured, relayed included */
    double relayed_bytes_per_iter; /* of those, rows forwarded for others (relay) */
    double params_bytes_per_iter;  /* consensus messages, all agents, measured */
    int64_t links;                 /* communication links used */
    int64_t possible_links;        /* M (M - 1) / 2 */
    int64_t required_links;        /* agent pairs sharing sensor links */
    int32_t hops;                  /* rounds per halo exchange (relay: the longest route) */
    int64_t dropped_edges;         /* road links dropped (drop) */
    double central_ms, dist_ms;    /* wall time of the two trainings */
} dgcn_forecast_result;

/* Trains the filter of order K from seed (weights and batch order) on samples p over the sensor
 * graph adj (p->n sensors) and fills *res. */
int dgcn_forecast_run(const dgcn_traffic_samples *p, const dgcn_csr *adj, int order,
                      const dgcn_forecast_opts *o, uint64_t seed, dgcn_forecast_result *res);

/* Floats in the parameter vector of the filter of order K under o (o->hidden). */
int64_t dgcn_forecast_n_params(const dgcn_traffic_samples *p, int order,
                               const dgcn_forecast_opts *o);

/* For verification: the training loss's gradient at theta (n_params floats) on the batch of the
 * o->batch samples first[], as the two trainings of dgcn_forecast_run compute it: into central
 * (may be NULL) the centralized one, into agents (may be NULL) the sum over the M agents of their
 * gradients (the same plan, loss normalization and exchanges; res receives the plan's links and
 * hops). *sq is the centralized sum of squared errors on the batch, which the loss divides by
 * the number of target values of the whole graph's batch (N x B). */
int dgcn_forecast_gradient(const dgcn_traffic_samples *p, const dgcn_csr *adj, int order,
                           const dgcn_forecast_opts *o, uint64_t seed, const int32_t *first,
                           const float *theta, double *sq, float *central, float *agents,
                           dgcn_forecast_result *res);

#endif
