/* coordinator/forecast.h: the paper's traffic experiment (PAPER.md, "Experiments"): graph-signal
 * regression on a sensor graph with graph filters of order K (nn/gcn.h), centralized and over
 * agents.
 *
 * One run (dgcn_forecast_run) trains the filter of order K on the training samples of a series
 * (graph/traffic.h: 12-step windows, 6:2:2 split in time order, z-scored) in mini-batches of B
 * snapshots, twice from the same initial weights and the same batch order:
 *   centralized  the whole graph as one block, Adam;
 *   distributed  M agents (threads over the inproc transport, each holding only its own sensors'
 *                series) on the plan's topology (coordinator/plan.h; the required links are added
 *                to the spec's links), with a consensus optimizer, then final averaging rounds.
 * Both report the squared and absolute error over the test samples, in z-score units. The model is
 * one filter layer from the lags to one output (K = 0: the linear model), or two with a ReLU
 * hidden layer of width hidden. */
#ifndef DGCN_COORDINATOR_FORECAST_H
#define DGCN_COORDINATOR_FORECAST_H

#include "graph/csr.h"
#include "graph/traffic.h"

#include <stdint.h>

typedef struct dgcn_forecast_opts {
    int32_t agents;        /* M [6] */
    const char *partition; /* bfs|metis|random|block [bfs] */
    const char *topology;  /* topology spec [ring] */
    int32_t hidden;        /* 0: one filter layer [0]; else the hidden width */
    int32_t batch;         /* snapshots per mini-batch [32] */
    int32_t epochs;        /* passes over the training samples [40] */
    double lr;             /* Adam step (centralized) and consensus step (agents) [0.03] */
    double lr_decay;       /* step at iteration i: lr / (1 + i / (lr_decay * iterations)) [0.1];
                            * <= 0: constant */
    const char *optimizer; /* consensus optimizer of the agents [gt-adam] */
    int32_t final_mixing;  /* averaging rounds after training [20] */
    int distributed;       /* also train over agents [1] */
    int deadline_ms;       /* bound on every exchange wait [30000] */
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
    double consensus_gap;         /* max over agents of |theta_k - mean| / |mean| after mixing */
    double halo_bytes_per_iter;   /* all agents, both directions, measured */
    double params_bytes_per_iter; /* consensus messages, all agents, measured */
    int64_t links;                /* communication links used */
    int64_t required_links;       /* agent pairs sharing sensor links (all kept) */
    double central_ms, dist_ms;   /* wall time of the two trainings */
} dgcn_forecast_result;

/* Trains the filter of order K from seed (weights and batch order) on samples p over the sensor
 * graph adj (p->n sensors) and fills *res. */
int dgcn_forecast_run(const dgcn_traffic_samples *p, const dgcn_csr *adj, int order,
                      const dgcn_forecast_opts *o, uint64_t seed, dgcn_forecast_result *res);

#endif
