/* coordinator/gather.h: the report gatherer of a training run (train.h).
 *
 * Every agent reports each evaluated iteration (0, eval_every, 2 eval_every, ..., the last); the
 * gatherer sums one interval's reports per iteration until all M are in, then turns them into the
 * global figures (loss, accuracy or MSE/MAE per split, consensus error, bytes per channel, ms per
 * phase), one line of metrics.jsonl, a curve point and a line of plots/train.tsv. A resumed run
 * reads its metrics.jsonl back into the curve and the .tsv the same way. */
#ifndef DGCN_COORDINATOR_GATHER_H
#define DGCN_COORDINATOR_GATHER_H

#include "agent/run.h"
#include "comm/control.h"
#include "coordinator/observe.h"

#include <stdint.h>
#include <stdio.h>

/* One evaluated iteration being gathered from the agents. */
typedef struct dgcn_gather_slot {
    int64_t iter;
    int32_t got; /* reports in */
    double loss[DGCN_SPLITS];
    double abs[DGCN_SPLITS]; /* regression: summed absolute errors */
    int64_t correct[DGCN_SPLITS], count[DGCN_SPLITS];
    dgcn_traffic tr;
    uint64_t relayed[DGCN_CH_COUNT]; /* of tr.bytes, forwarded for others (relay) */
    uint64_t failed[DGCN_CH_COUNT];  /* messages lost to failed links (agent/links.h) */
    uint64_t raw[DGCN_CH_COUNT];     /* float32 bytes of the halo rows sent compressed */
    double phase[DGCN_RUN_N_PHASES]; /* ms, max over agents, cumulative */
    float *params;                   /* (m, np) */
    uint8_t *from;                   /* (m) 1: agent k's report is in */
    int done;                        /* returned full once */
} dgcn_gather_slot;

typedef struct dgcn_gather {
    int32_t m;               /* agents */
    int64_t np;              /* floats per parameter vector */
    int iters;               /* the run's iterations */
    int eval_every;          /* report interval */
    int n_evals;             /* evaluated iterations of a seed */
    int regression;          /* the task: MSE and MAE per split instead of accuracy */
    dgcn_gather_slot *slots; /* [n_evals] */
    uint8_t *lost;           /* (m) 1: agent k was lost (--on-agent-loss continue): a slot is
                              * full without its report */
    int32_t n_lost;
} dgcn_gather;

/* The global figures of one evaluated iteration with every report in. */
typedef struct dgcn_gather_point {
    int64_t iter;
    double loss;                    /* training loss per training node (regression: target value) */
    double acc[DGCN_SPLITS];        /* accuracy per split (regression: MSE) */
    double mae[DGCN_SPLITS];        /* regression: MAE per split (else 0) */
    double consensus;               /* max_k ||theta_k - mean|| / ||mean|| */
    uint64_t moved;                 /* halo + params bytes of all agents so far */
    uint64_t halo, relayed;         /* of moved: halo bytes, and of those the forwarded ones */
    uint64_t params;                /* of moved: consensus messages */
    double bytes_per_iter;          /* moved / iter (0 at iteration 0) */
    uint64_t failed[DGCN_CH_COUNT]; /* messages lost to failed links so far, per channel, summed
                                     * over the agents (a failed link counts at both ends) */
    uint64_t halo_raw; /* of halo: what the compressed halo rows weigh as float32 (0: none) */
} dgcn_gather_point;

/* A gatherer for a seed of a run of m agents, np parameters, iters iterations reported every
 * eval_every. On failure g is safe to fini. */
int dgcn_gather_init(dgcn_gather *g, int32_t m, int64_t np, int iters, int eval_every,
                     int regression);
void dgcn_gather_fini(dgcn_gather *g);

/* Adds one report (borrowed); *full is its slot once all M reports of its iteration are in, else
 * NULL. DGCN_EPROTO for a report of no evaluated iteration or of another model size. */
int dgcn_gather_add(dgcn_gather *g, const dgcn_ctl_report *r, dgcn_gather_slot **full);

/* Agent k is lost: no slot waits for it any more. *full is the earliest slot this completes (call
 * again until NULL: each call returns the next, marking it returned), else NULL. */
int dgcn_gather_lose(dgcn_gather *g, int32_t k, dgcn_gather_slot **full);

/* The figures of a full slot; mean (np) receives the mean of the copies (of the agents not lost,
 * whose reports the slot holds: the consensus error is over them). */
void dgcn_gather_point_of(const dgcn_gather *g, const dgcn_gather_slot *sl, double *mean,
                          dgcn_gather_point *pt);

/* Frees a full slot's copies once its figures are taken. */
void dgcn_gather_release(dgcn_gather_slot *sl);

/* Appends the point's line to metrics.jsonl (f): seed, iteration, the figures, bytes per channel
 * (relayed ones when relay is set), ms per phase, frames dropped (the agents' and dropped more),
 * elapsed_ms since the seed started. */
void dgcn_gather_metrics_line(const dgcn_gather *g, FILE *f, uint64_t seed,
                              const dgcn_gather_slot *sl, const dgcn_gather_point *pt, int relay,
                              uint64_t dropped, double elapsed_ms);

/* Appends the point's line to plots/train.tsv: iteration, loss, the three splits, consensus. */
void dgcn_gather_tsv_line(FILE *tsv, const dgcn_gather_point *pt);

/* The curve point of a gathered point (val and test accuracy, or MSE). */
dgcn_curve_point dgcn_gather_curve_point(const dgcn_gather_point *pt);

/* Resume: cuts out/metrics.jsonl back to its complete lines of iterations <= iter and writes their
 * points into curve (of capacity cap) and tsv, as the uninterrupted run had them. DGCN_EINVAL when
 * no line is left. */
int dgcn_gather_metrics_cut(const char *out, int64_t iter, int regression, FILE *tsv,
                            dgcn_curve *curve, int cap);

#endif
