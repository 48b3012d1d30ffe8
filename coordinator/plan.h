/* coordinator/plan.h: the run plan: from a dataset and options to what every agent receives.
 *
 * Every command that distributes a graph (train, verify, study, partition, topology generate)
 * builds its plan here, in these stages, each from the previous ones:
 *   1. partition   owner[i] in [0, M) for every node (graph/partition.h; seeded)
 *   2. required    the agent pairs that share data edges
 *   3. topology    the communication graph named by the spec (topologies/spec.h), minus a random
 *                  fraction of its links kept connected (removal), then the cross-edge policy:
 *                    keep    the required links are added, so every data edge has a link;
 *                    drop    the data edges between agents without a link are dropped and A_hat
 *                            is renormalized (the model changes: the paper's sparse setting);
 *                    strict  the graph is used as given; a missing required link is DGCN_ETOPOLOGY
 *                            naming every missing pair;
 *                    relay   the graph is used as given; the halo rows of a required pair without
 *                            a link travel a shortest path of it, forwarded by the agents on the
 *                            way (routes in the shards, graph/shard.h; docs/relay.md). The model
 *                            is unchanged; an exchange takes hops_max rounds.
 *                  With opts.connected a disconnected result is DGCN_ETOPOLOGY.
 *   4. weights     the mixing matrix: the design's own for a spec that is one 'designed' term
 *                  (rule "auto", no removal, no links added by the policy), else the rule
 *                  (topologies/weights.h; "auto" means Metropolis-Hastings there)
 *   5. shards      one per agent (graph/shard.h), cut from the A_hat the agents see
 * Set-up messages (dgcn_plan_setups) and the predicted traffic come from the plan. No stage holds an
 * M x M table: the graphs are sorted adjacency lists, the mixing matrix sparse rows, the required
 * links a pair list, and hop distances come from one breadth-first search per agent that has a
 * required pair without a link (O(M + links) memory; the dense 'designed' term and the 'fastest'
 * rule are the exceptions, bounded by DGCN_TOPO_DENSE_MAX agents). The same dataset,
 * options and seed give the same plan, bit for bit. The plan id stored in the shards is a hash of
 * the dataset's name and sizes, the partition method, the seed, M and the owner array. */
#ifndef DGCN_COORDINATOR_PLAN_H
#define DGCN_COORDINATOR_PLAN_H

#include "agent/run.h"
#include "comm/control.h"
#include "graph/csr.h"
#include "graph/dataset.h"
#include "graph/shard.h"
#include "topologies/graph.h"
#include "topologies/weights.h"

#include <stdint.h>

typedef enum dgcn_cross_edges {
    DGCN_CROSS_KEEP = 0,   /* add the required links to the topology */
    DGCN_CROSS_DROP = 1,   /* drop the data edges the topology does not cover */
    DGCN_CROSS_STRICT = 2, /* a missing required link is an error */
    DGCN_CROSS_RELAY = 3   /* rows of a missing required link are relayed along shortest paths */
} dgcn_cross_edges;

/* "keep", "drop", "strict", "relay" <-> enum; DGCN_EINVAL naming the value otherwise. */
int dgcn_cross_edges_parse(const char *name, dgcn_cross_edges *out);
const char *dgcn_cross_edges_name(dgcn_cross_edges p);

typedef struct dgcn_plan_opts {
    int32_t agents;          /* M >= 1, at most the number of nodes */
    const char *partition;   /* bfs|metis|random|block [bfs] */
    uint64_t seed;           /* partition, random families, removal draws [1] */
    const char *topology;    /* spec of topologies/spec.h; NULL: stop after the required links
                              * (no topology, weights or policy) [designed] */
    double removal;          /* fraction of the spec's links removed at random, connected [0] */
    const char *cross_edges; /* keep|drop|strict|relay [keep] */
    const char *weights;     /* mixing rule name or "auto" [auto] */
    int connected;           /* a disconnected topology is an error [1] */
    int shards;              /* build the shards (stage 5) [1] */
} dgcn_plan_opts;

void dgcn_plan_defaults(dgcn_plan_opts *o);

typedef struct dgcn_plan {
    int32_t m;              /* agents */
    int32_t n;              /* nodes */
    uint64_t id;            /* plan id (see above) */
    int32_t *owner;         /* (n) agent of each node */
    dgcn_topo required;     /* agent pairs sharing data edges */
    dgcn_topo topo;         /* the communication graph (m = 0 when opts.topology is NULL) */
    dgcn_mixing c;          /* the mixing matrix as sparse rows (c.m = 0 without a topology) */
    char weights[32];       /* the rule that produced c: a rule name or "design" */
    dgcn_cross_edges cross; /* the policy applied */
    int64_t n_dropped;      /* data edges dropped (policy drop) */
    dgcn_csr adj_dropped;   /* (n, n) the data graph after dropping (policy drop only) */
    dgcn_csr a_hat_dropped; /* its normalization (policy drop only) */
    const dgcn_csr *a_hat;  /* (n, n) the A_hat the agents see: the caller's or a_hat_dropped */
    dgcn_shard *shards;     /* [m] or NULL without stage 5 */
    int32_t hops_max;       /* hops per exchange: max over the required pairs (of the A_hat the
                             * agents see) of their distance in topo; 1 when every pair has a
                             * link, 0 without required pairs or topology */
    /* a schedule (topologies/schedule.h; topo is then the union of its graphs, c Metropolis-
     * Hastings on the union): one mixing matrix per phase, Metropolis-Hastings on the phase's
     * graph, each for sched_every iterations */
    int32_t sched_period; /* phases (0: a static topology) */
    int32_t sched_every;  /* iterations per phase */
    dgcn_mixing *sched_c; /* [sched_period] */
} dgcn_plan;

/* Builds the plan of ds (preprocessed) and its A_hat under o. On failure *p is safe to fini and
 * dgcn_error_msg() names the stage's problem. The plan keeps a pointer to a_hat: keep it alive. */
int dgcn_plan_build(dgcn_plan *p, const dgcn_dataset *ds, const dgcn_csr *a_hat,
                    const dgcn_plan_opts *o);
void dgcn_plan_fini(dgcn_plan *p);

/* Agent k's communication neighbours (increasing ids) into neighbors[deg] and its mixing row into
 * mixing[deg + 1] (its own weight first, then one per neighbour); returns deg. Needs a topology. */
int32_t dgcn_plan_neighbors(const dgcn_plan *p, int32_t k, int32_t *neighbors, double *mixing);

/* The set-up message of every agent: neighbours and mixing row from the topology (and, under a
 * schedule, one row per phase over the same neighbours, 0 for a link the phase lacks), cfg as the run
 * configuration, and the packed shard when with_shards (else the agents read it from cfg->plan).
 * *setups is a malloc'd array of m messages that owns its arrays: free with dgcn_plan_setups_free. */
int dgcn_plan_setups(const dgcn_plan *p, const dgcn_run_config *cfg, int with_shards,
                     dgcn_ctl_setup **setups);
void dgcn_plan_setups_free(dgcn_ctl_setup **setups, int32_t m);

/* Memory the shards hold, in bytes of their arrays (rows of A_hat and features, ids, labels,
 * exchange lists, relay routes, series): the total over the agents, and in *max (may be NULL) the largest
 * agent's. 0 without shards. O(m). */
uint64_t dgcn_plan_shard_bytes(const dgcn_plan *p, uint64_t *max);

/* Bytes of one pass's halo exchanges in one direction, given the width of each exchange: every
 * agent's halo rows once per exchange, 4 bytes per float. A GCN makes one exchange per layer (the
 * layer widths), a filter of order K makes K (dgcn_model_exchange_widths in nn/gcn.h). These are
 * the direct bytes: each row's first hop. */
uint64_t dgcn_plan_halo_bytes(const dgcn_plan *p, const int32_t *widths, int n_layers);

/* The relayed bytes of the same exchange under policy relay: each halo row once per hop after its
 * first (route length - 1), 4 bytes per float; 0 under the other policies. */
uint64_t dgcn_plan_relay_bytes(const dgcn_plan *p, const int32_t *widths, int n_layers);

/* What one training iteration must move, all agents: every halo row once per layer each way (and
 * once per further hop under relay), and msg_floats consensus floats per link direction (the
 * message length times the gossip rounds). */
uint64_t dgcn_plan_min_bytes(const dgcn_plan *p, const int32_t *widths, int n_layers,
                             int64_t msg_floats);

#endif
