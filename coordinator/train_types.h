/* coordinator/train_types.h: what a training run takes and gives: its options (dgcn_train_opts)
 * and its figures (dgcn_train_result). coordinator/train.h runs it; the stages of a run (the seed
 * loop, the report gatherer, the run directory's files) and the options of train and study
 * (coordinator/run_config.h) share these types from here, below train.h. */
#ifndef DGCN_COORDINATOR_TRAIN_TYPES_H
#define DGCN_COORDINATOR_TRAIN_TYPES_H

#include "coordinator/data_source.h"
#include "coordinator/observe.h"
#include "coordinator/plan.h"

#include <stdint.h>
#include <stdio.h>

typedef struct dgcn_train_opts {
    dgcn_data_source src;
    dgcn_plan_opts plan;   /* the run plan (coordinator/plan.h): agents M (mpi: world size - 1)
                              * [8], partition [bfs], seed (also the first training seed) [1],
                              * topology spec [auto: designed up to 128 agents,
                              * budget:M/4 above], removal, cross_edges [keep], weights */
    const char *optimizer; /* dgd|dgd-atc|gt|gt-adam (default gt-adam) */
    double lr;             /* step; <= 0: 0.05 for gt-adam, 5 otherwise (plain gradient steps) */
    double lr_decay;       /* step schedule lr / (1 + n / lr_decay)^lr_power; <= 0: constant */
    double lr_power;       /* 1 */
    int hidden;            /* 16 */
    int order;             /* -1: the GCN; K >= 0: the graph filter of order K (nn/gcn.h) [-1] */
    double dropout;        /* 0.5 */
    double weight_decay;   /* L2 on the first layer [5e-4] */
    int iters;             /* 200 */
    int seeds;             /* 1 */
    const char *transport; /* "zmq" (default), "inproc", "mpi" or an address (comm/transport.h) */
    const char *tcp_host;  /* zmq over tcp on this host instead of ipc */
    int eval_every;        /* 10 */
    int shard_files;       /* agents read their shard from RUNDIR/plan (a shared file system)
                              * instead of receiving it in the set-up message */
    int final_mixing;      /* averaging rounds after the last step, before the last report (0) */
    int gossip_rounds;     /* params exchanges per training iteration; 0: the fewest R whose
                            * contraction (SLEM^R, or 1 / T_R(1 / SLEM) with chebyshev) is
                            * <= gossip_target (at least 1) [0] */
    double gossip_target;  /* per-iteration contraction the automatic R reaches [0.02] */
    /* "chebyshev" or "none": how the gossip rounds combine [chebyshev] */
    const char *gossip_accel;
    /* the bound rho >= SLEM chebyshev uses: set by dgcn_train_run from the plan */
    double gossip_rho;
    int gossip_max;        /* the automatic R is at most this [3] */
    double lr_cooldown;    /* fraction of the iterations the step cools to 0 over [1] */
    int agree_rounds;      /* averaging rounds before the first step; -1: automatic [-1] */
    int init_per_agent;    /* every agent's Glorot init from its own seed (0: one shared init) */
    int dropout_per_agent; /* every agent's dropout masks from its own seed (0: one stream) */
    int deadline_ms;       /* bound on every wait, ms; 0: from the planned work (deadline.h) [0] */
    const char *out;       /* run directory */
    int progress;          /* print one line per evaluated iteration */
    FILE *log;             /* where progress and the result lines go (NULL: stdout) */
    int baselines;         /* train the centralized GCN and MLP too (1) */
    double max_ms;         /* bound on the whole run's training, ms (<= 0: none) */
    const char *program;   /* the dgcn binary agent processes run (NULL: this one) */
    int workers;           /* inproc: worker threads that run the agents' tasks (0: one per core) */
    const char *wait_for_agents; /* agents not started, joining by hand: "K,..." or "all" */
    int checkpoint_every;        /* a checkpoint every N iterations (0: none); needs seeds = 1 */
    int resume;                  /* continue o->out from its last complete checkpoint */
    /* -- regression on graph signals: a traffic folder (coordinator/data_source.h) -- */
    int batch;  /* snapshots per mini-batch [32] */
    int epochs; /* with iters 0: iters = epochs x (training samples / batch) [40] */
    /* -- time-varying links (agent/links.h) -- */
    double link_failure; /* probability a link's message is lost in one exchange [0] */
    int halo_staleness;  /* halo rows of failed links at most S iterations old [4] */
    /* "abort" or "continue": whether a lost agent ends the run (docs/agent.md) [abort] */
    const char *on_agent_loss;
    /* -- compressed halo rows (nn/halo_codec.h) -- */
    const char *compress_halo; /* "off", "16", "8" or "fp16" [off] */
    const char *halo_rounding; /* "nearest" or "stochastic": q8/q4/q2 rounding [nearest] */
    const char *halo_feedback; /* "none", "grad" or "all": error feedback [none] */
    /* Study only (coordinator/study.h, --agent-loss; not a train option): the coordinator kills
     * (SIGKILL) kill_agents agents, drawn from each seed, as soon as one of their reports of an
     * iteration >= kill_iter arrives; needs on_agent_loss "continue" and agent processes (zmq) */
    int kill_agents;
    int64_t kill_iter;
    /* -- compressed gossip (nn/choco.h) -- */
    const char *compress_params; /* "none", "topk:F", "randk:F" or "quant:B" [none] */
    double compress_gamma;       /* its consensus step; 0: automatic [0] */
} dgcn_train_opts;

typedef struct dgcn_train_result {
    double test_acc_mean, test_acc_std;
    double central_test_acc_mean, central_test_acc_std;
    double mlp_test_acc_mean, mlp_test_acc_std;
    double consensus_error;        /* at the end, mean over seeds */
    double bytes_per_iter;         /* halo + params, all agents, measured (evaluations included) */
    double bytes_per_iter_min;     /* what one training iteration must move: every halo row once per
                                    * layer each way, and one consensus message per link direction
                                    * and gossip round */
    double bytes_per_iter_direct;  /* of bytes_per_iter: halo rows on their first hop */
    double bytes_per_iter_relayed; /* of bytes_per_iter: halo rows forwarded (relay) */
    double bytes_per_iter_params;  /* of bytes_per_iter: consensus messages */
    double bytes_total;            /* halo + params bytes of all agents over a seed's whole run
                                    * (metrics.jsonl's last bytes_cum), mean over seeds */
    double params_bytes_total;     /* of bytes_total: consensus messages */
    double halo_raw_bytes_total;   /* --compress-halo: the halo bytes of bytes_total weighed as
                                    * float32 rows, i.e. without compression (0: none) */
    int32_t hops_per_exchange;     /* rounds per halo exchange: the communication graph's
                                    * diameter over the required pairs (1 unless relay) */
    double central_ms_per_epoch;   /* median epoch of the centralized GCN baseline (NaN without) */
    double ms_per_iter_median;
    int64_t links, required_links; /* of the communication graph the agents used */
    uint64_t peak_rss_bytes;       /* the coordinator process's peak resident memory (getrusage
                                      * ru_maxrss; with threads, the whole simulation) */
    uint64_t shard_bytes, shard_bytes_max; /* the plan's shards: all agents, the largest one */
    int centralized_by_construction; /* 1 when the graph is complete, the weights uniform and the
                                      * initialization shared: every copy stays the average, so
                                      * the run is centralized training and no evidence about
                                      * distributed optimization */
    int64_t links_possible;          /* M(M-1)/2 agent pairs */
    double contraction_per_iter;     /* how much one iteration's gossip shrinks the disagreement:
                                      * SLEM^R, 1/T_R(1/rho) with chebyshev (NaN without C) */
    int effectively_centralized;     /* 1 when contraction_per_iter < 1e-3 or more than 90 % of
                                      * the pairs are linked (dgcn_observe_centralized) */
    char centralized_reason[256];    /* why, or "" */
    double model_test_acc;           /* the saved model's (last seed's) centralized test accuracy */
    dgcn_curve curve;                /* per evaluated iteration, averaged over seeds */
    /* -- regression: test MSE and MAE (z-score units) over the seeds; NaN for classification -- */
    double test_mse_mean, test_mse_std, test_mae_mean, test_mae_std;
    double central_test_mse_mean, central_test_mse_std, central_test_mae_mean, central_test_mae_std;
    int generated;               /* regression: the series are generated, not measured */
    int64_t n_params;            /* floats in the model's parameter vector */
    int64_t dropped_edges;       /* data edges the plan dropped (cross edges drop) */
    double relayed_per_iter_min; /* of bytes_per_iter_min, halo rows forwarded (relay) */
    double link_failures[4];     /* messages lost to failed links per channel (halo_fwd, halo_bwd,
                                  * params), the whole run, all agents, mean over seeds */
    int32_t schedule_period;     /* phases of the plan's schedule (0: a static topology) */
    int32_t n_lost;              /* agents lost in the last seed (--on-agent-loss continue) */
    int32_t lost_agent[16];      /* the first 16 of them */
    int64_t lost_iter[16];       /* their last reports */
} dgcn_train_result;

#endif
