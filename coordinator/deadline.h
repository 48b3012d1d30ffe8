/* coordinator/deadline.h: how long the coordinator and the agents wait, from the work of a run.
 *
 * A report interval costs iterations per report x (halo exchanges + gossip rounds) exchanges; one
 * exchange is allowed a fixed latency plus, for every agent sharing a core, a per-agent overhead
 * and the time to move (copy, mix) its share of the exchange's bytes at a deliberately slow rate.
 * The deadline is that interval allowance (and the evaluation, and the averaging rounds at the
 * end), never below a floor; an explicit deadline overrides it. A deadline only bounds silence, so
 * it errs long: a healthy run must not die of its own cost, a stuck agent is named a little later.
 * docs/running.md, "Deadlines and failures". */
#ifndef DGCN_COORDINATOR_DEADLINE_H
#define DGCN_COORDINATOR_DEADLINE_H

#include <stdint.h>

#define DGCN_DEADLINE_FLOOR_MS 30000 /* no automatic deadline is shorter */
#define DGCN_DEADLINE_MAX_MS 1000000000

/* Allowances, deliberately pessimistic (the in-process engine measures 10 to 50 times better on a
 * 2-core machine: docs/running.md). */
#define DGCN_DEADLINE_EXCHANGE_MS 5.0    /* fixed latency of one exchange, ms */
#define DGCN_DEADLINE_AGENT_MS 0.5       /* one agent's overhead per exchange on a core, ms */
#define DGCN_DEADLINE_BYTES_PER_MS 200e3 /* bytes one core moves and mixes per ms (200 MB/s) */
#define DGCN_DEADLINE_FLOPS_PER_MS 100e3 /* flops one core does per ms (0.1 GFLOP/s) */

/* The planned work of one run. */
typedef struct dgcn_deadline_work {
    int32_t agents;           /* M */
    int cores;                /* cores the agents share (>= 1; inproc: the workers) */
    int64_t iters_per_report; /* iterations between reports (eval_every, at most the run's) */
    int halo_exchanges;       /* per iteration: forward and backward, every hop (relay) */
    int gossip_rounds;        /* params exchanges per iteration, R */
    int final_mixing;         /* averaging rounds outside the iterations (agreement before the
                               * first step, final mixing before the last report) */
    double halo_bytes;        /* per iteration, all agents */
    double params_bytes;      /* per gossip round, all agents */
    double params_bytes_max;  /* per gossip round, the busiest agent (sent + received) */
    double flops;             /* per iteration, all agents (forward, backward, evaluation) */
} dgcn_deadline_work;

typedef struct dgcn_deadline {
    int deadline_ms;       /* the coordinator's bound on a wait for the agents' reports */
    int agent_deadline_ms; /* the agents' bound on every wait: theirs are for one exchange, which
                            * the slowest neighbour reaches within about an iteration's work
                            * (and an evaluation), so it follows one iteration, not the interval;
                            * an abort of the in-process engine waits for it */
    int automatic;         /* 1: chosen from the work; 0: the explicit override */
    double exchange_ms;    /* allowance of one exchange (the average over an iteration's) */
    double interval_ms;    /* allowance of the costliest report interval */
    int agents_per_core;   /* ceil(M / cores) */
    double bytes_per_iter; /* halo + params, all agents, planned */
} dgcn_deadline;

/* The deadlines for work w: override_ms > 0 is used as given for both (d->interval_ms still says
 * what the work would need); 0 picks max(DGCN_DEADLINE_FLOOR_MS, the interval allowance) for the
 * coordinator and max(DGCN_DEADLINE_FLOOR_MS, one iteration's and an evaluation's allowance) for
 * the agents, capped at DGCN_DEADLINE_MAX_MS. Pure; O(1). */
void dgcn_deadline_choose(const dgcn_deadline_work *w, int override_ms, dgcn_deadline *d);

/* 1 when the planned work is worth a word before the run: the allowance exceeds an explicit
 * deadline, or exceeds the floor, or one iteration moves more than 1 GB. */
int dgcn_deadline_notable(const dgcn_deadline *d);

/* The cores of this machine (>= 1). */
int dgcn_deadline_cores(void);

#endif
