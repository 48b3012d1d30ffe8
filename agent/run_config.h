/* agent/run_config.h: the run configuration an agent receives in its Setup (comm/control.h,
 * dgcn_ctl_config): the struct, its defaults, and its conversion to and from the wire form with the
 * agent's range checks. Its own small library (dgcn_run_config: comm and core, no kernels), so the
 * RunConfig fuzz target (tests/fuzz/fuzz_config.c) links this decoder alone; the rows come from
 * comm/run_config.h. */
#ifndef DGCN_AGENT_RUN_CONFIG_H
#define DGCN_AGENT_RUN_CONFIG_H

#include "comm/control.h"
#include "nn/compress.h"
#include "nn/consensus.h"
#include "nn/gcn.h"

#include <stdint.h>

typedef enum dgcn_run_mode { DGCN_RUN_VERIFY = 0, DGCN_RUN_TRAIN = 1 } dgcn_run_mode;
/* What a lost neighbour (comm/transport.h, watch_loss) does: end the run, or be dropped. */
typedef enum dgcn_run_on_loss {
    DGCN_ON_LOSS_ABORT = 0,
    DGCN_ON_LOSS_CONTINUE = 1
} dgcn_run_on_loss;

/* Classification: cross-entropy on the shard's labelled nodes. Regression: squared error on
 * mini-batches of graph signals from the shard's series (graph/shard.h); iteration n trains on
 * batch n of the schedule of graph/traffic.h (dgcn_traffic_epoch_order from batch_seed), which
 * every agent and the centralized run derive alike; an evaluation covers every full batch of each
 * split in time order (pass p of the evaluation at n tagged n * passes + p), and its report
 * carries per split the summed squared error (loss_sum), the
 * summed absolute error (abs_sum) and the number of values (count). Verify uses batch 0. */
typedef enum dgcn_run_task { DGCN_TASK_CLASSIFICATION = 0, DGCN_TASK_REGRESSION = 1 } dgcn_run_task;

/* What the coordinator tells every agent, carried as Setup.config (dgcn_ctl_config). */
typedef struct dgcn_run_config {
    dgcn_run_mode mode;
    dgcn_model_config model;
    dgcn_consensus_config consensus; /* grad_scale 0 means M */
    int64_t iterations;              /* train: steps */
    int64_t eval_every;              /* train: report interval (>= 1) */
    int64_t final_mixing;            /* train: averaging rounds before the last report (0) */
    uint64_t init_seed;              /* Glorot init of theta, the same on every agent */
    uint64_t dropout_seed;
    int training;                 /* verify: gradient with dropout (1) or without (0) */
    int report_params;            /* train: parameter vector in every report */
    int init_per_agent;           /* theta_k(0) from (init_seed, k): the copies start apart */
    int dropout_per_agent;        /* dropout masks from (dropout_seed, k) */
    int64_t checkpoint_every;     /* train: a State message every N iterations (0: none) */
    int32_t agree_rounds;         /* train: averaging rounds of theta before the first step (0) */
    char plan[DGCN_CTL_PLAN_MAX]; /* plan folder to read the shard from, or "" (shard bytes) */
    /* -- regression on graph signals (above) -- */
    dgcn_run_task task;
    int32_t batch;       /* regression: snapshots per mini-batch (1 otherwise) */
    uint64_t batch_seed; /* regression: the epochs' sample order */
    /* -- time-varying links (agent/links.h) -- */
    double link_failure;    /* probability a link's message is lost in one exchange (0) */
    int32_t halo_staleness; /* halo rows of failed links at most S iterations old (4) */
    int32_t on_agent_loss;  /* dgcn_run_on_loss: a neighbour gone ends the run (0) or is dropped */
    /* -- compressed gossip (nn/choco.h): kind NONE sends the params messages whole -- */
    dgcn_compress_config compress;
    /* -- compressed halo rows (nn/halo_codec.h) -- */
    int32_t halo_codec;    /* dgcn_halo_codec (off) */
    int32_t halo_rounding; /* dgcn_halo_rounding of q8, q4, q2 (nearest) */
    int32_t halo_feedback; /* dgcn_halo_feedback of training steps (none) */
} dgcn_run_config;

/* Verify mode, defaults for d features and c classes: Kipf's model without dropout, DGD 0.1. */
dgcn_run_config dgcn_run_config_defaults(int32_t d, int32_t c);

/* To the wire form: every field of out is set (dims: the n_layers + 1 widths). */
void dgcn_run_config_to_ctl(const dgcn_run_config *c, dgcn_ctl_config *out);

/* From the wire form, checking ranges and enum values: DGCN_EINVAL naming the field (mode, model,
 * dims, optimizer, a NaN among the reals, iterations, eval_every, final_mixing, training,
 * report_params, plan, gossip_rounds, init_per_agent, dropout_per_agent, checkpoint_every, task,
 * batch). *c is set only on success. */
int dgcn_run_config_from_ctl(dgcn_run_config *c, const dgcn_ctl_config *in);

#endif
