/* coordinator/seed_loop.h: the seed loop of a training run (train.h): for each seed, one session
 * from the agents' set-up to their last report. Each report interval is gathered
 * (coordinator/gather.h) into a metrics.jsonl line, a curve point, a plots/train.tsv line and a
 * progress line; agents' states are handed to the checkpoint store (coordinator/ckpt.h); the last
 * report's mean of the copies is written as RUNDIR/model (coordinator/model.h). */
#ifndef DGCN_COORDINATOR_SEED_LOOP_H
#define DGCN_COORDINATOR_SEED_LOOP_H

#include "comm/run_config.h"
#include "coordinator/ckpt.h"
#include "coordinator/train_types.h"

#include <stdint.h>
#include <stdio.h>

/* What every seed of a run shares (borrowed, but for the counters the loop advances). */
typedef struct dgcn_seed_loop {
    const dgcn_train_opts *o;   /* resolved: iterations, report interval, gossip chosen */
    const dgcn_run_config *cfg; /* the run's; each seed's seeds are set in a copy */
    const dgcn_dataset *ds;     /* with a_hat: the saved model's centralized evaluation */
    const dgcn_csr *a_hat;
    const dgcn_plan *p;     /* agents, the cross-edge policy */
    dgcn_ctl_setup *setups; /* [M] the plan's; each seed's run configuration is written in */
    FILE *metrics, *tsv;    /* RUNDIR/metrics.jsonl and plots/train.tsv, open */
    dgcn_curve *curve;      /* per evaluated iteration, every seed's points */
    int curve_cap;
    double *intervals;     /* [seeds x (iters + 2)] ms per iteration of each interval */
    int n_intervals;       /* used */
    double t_start;        /* when the run began, ms (dgcn_now_ms; o->max_ms bounds it) */
    dgcn_ckpt *ck;         /* the checkpoint store */
    int64_t start;         /* resume: the checkpoint's iteration; else 0 */
    int agent_deadline_ms; /* the agents' bound on every wait */
} dgcn_seed_loop;

#define DGCN_SEED_LOST_MAX 16 /* lost agents a seed's figures name */

/* One seed's figures at its last report. */
typedef struct dgcn_seed_out {
    double test_acc, consensus; /* regression: test_acc is the test MSE */
    double test_mae;            /* regression */
    double model_test_acc;      /* the saved model's, centralized */
    double bytes_per_iter; /* halo + params bytes of all agents per iteration (evaluations in) */
    double direct_per_iter, relayed_per_iter, params_per_iter; /* its parts */
    double bytes_total, params_bytes_total; /* halo + params bytes of all agents, the whole run */
    double halo_raw_total; /* of the halo bytes, what the compressed rows weigh as float32 */
    uint64_t link_failures[DGCN_CH_COUNT];  /* messages lost to failed links, the whole run */
    int32_t n_lost;                         /* agents lost (--on-agent-loss continue) */
    int32_t lost_agent[DGCN_SEED_LOST_MAX]; /* the first of them, and their last reports */
    int64_t lost_iter[DGCN_SEED_LOST_MAX];
    double train_ms;
} dgcn_seed_out;

/* Trains seeds o->plan.seed .. + o->seeds - 1 in turn into out[0..seeds) (their .tsv blocks
 * separated by two blank lines); stops at the first failure, or when a signal asked to. */
int dgcn_seed_loop_run(dgcn_seed_loop *l, dgcn_seed_out *out);

#endif
