/* coordinator/train.h: a distributed training run from plan to summary.
 *
 * Plans the run (coordinator/plan.h: partition, topology, weights, shards), starts one session per seed,
 * gathers the agents' reports into global figures per evaluated iteration (training loss, accuracy
 * per split, consensus error max_k ||theta_k - mean|| / ||mean||, bytes per channel, ms per
 * phase), trains the centralized GCN and MLP baselines on the same seeds, and writes the run
 * directory: config.json, plan/, topology.edges, topology.dot, metrics.jsonl, summary.json, plots/,
 * and model: the mean of the agents' copies at the last report (coordinator/model.h), whose test
 * accuracy under centralized inference the run reports (model_test_acc). The stages are modules
 * of their own: the seed loop (coordinator/seed_loop.h), the report gatherer (gather.h), the
 * checkpoint store (ckpt.h) and the run directory's config.json and summary.json (train_files.h).
 *
 * Checkpoints (checkpoint_every N > 0, one seed): at every iteration boundary N, 2N, ... below the
 * last, every agent sends its State (agent/run.h); the coordinator writes each to
 * checkpoint/agent-<k>.iter-<n>.state (temporary name, fsync, rename) and, once all M are on disk,
 * checkpoint/manifest.json {iter, seed, agents, plan_id} the same way, then removes the previous
 * checkpoint's files: the manifest always names a complete checkpoint. resume continues the run
 * directory o->out from its manifest's checkpoint: the plan must have the same id, metrics.jsonl
 * is cut back to the lines up to that iteration and appended to. docs/rundir.md, "checkpoint/". */
#ifndef DGCN_COORDINATOR_TRAIN_H
#define DGCN_COORDINATOR_TRAIN_H

#include "coordinator/session.h"
#include "coordinator/train_types.h"

/* Classification defaults. The regression ones (dgcn_train_defaults_regression, docs/traffic.md)
 * differ: 6 agents on a ring, one filter layer of order 2 from the lags to one output (hidden 0:
 * no hidden layer), no dropout or weight decay, iters 0 (from epochs), eval_every 0 (one epoch),
 * lr 0.03 with lr_decay -0.1 (a negative lr_decay -F means F x iterations), 20 final mixing
 * rounds, 1 plain gossip round (gossip_accel none), no step cool-down. A run on a traffic folder
 * is regression whatever the defaults; cmd_train picks them by the folder. */
void dgcn_train_defaults(dgcn_train_opts *o);
void dgcn_train_defaults_regression(dgcn_train_opts *o);

/* Runs everything above on rank 0 / the coordinator. On failure the run directory holds what was
 * written so far and dgcn_error_msg() names the agent and iteration. The result's curve is
 * allocated (also on failure): release it with dgcn_train_result_fini. */
int dgcn_train_run(const dgcn_train_opts *o, dgcn_train_result *r);
void dgcn_train_result_fini(dgcn_train_result *r);

#endif
