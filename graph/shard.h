/* graph/shard.h: what one agent holds: its nodes, their rows of A_hat, and its halo maps.
 *
 * Local row numbering: own nodes 0 .. n_own-1 (increasing global id), then halo nodes
 * n_own .. n_own+n_halo-1 grouped by owning peer (peers in increasing agent id) and increasing
 * global id within a peer. So the halo rows received from peer p are one contiguous range, and the
 * rows an agent sends to p are listed in the same order p stores them.
 *
 * Forward exchange with peer p: send own rows send_idx[send_ptr[p] .. send_ptr[p+1]), receive
 * rows n_own + recv_ptr[p] .. n_own + recv_ptr[p+1]. Backward is the mirror: send those halo rows
 * back, add the received rows into own rows send_idx[...]. Peers are the agents this agent shares
 * data edges with (its required links); the communication topology may add more neighbours.
 *
 * Relay (the plan's cross-edge policy relay, coordinator/plan.h): a peer need not be a
 * communication neighbour. Its rows then travel a fixed shortest path of the communication graph,
 * route(s, t) from s to t, forwarded by the agents on the way; route(t, s) is route(s, t)
 * reversed. An exchange is relay_rounds rounds; the flow s -> t (the rows s sends t forward, and
 * back the same path reversed in the backward exchange) makes its h-th hop in round h. The shard
 * holds what this agent needs of the routes: for each peer the neighbour next to it on the route
 * and the route's length, and one transit entry per flow it forwards. Without relay,
 * relay_rounds = 0 and the arrays are NULL (every peer is a neighbour). */
#ifndef DGCN_GRAPH_SHARD_H
#define DGCN_GRAPH_SHARD_H

#include "graph/csr.h"
#include "graph/dataset.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dgcn_shard {
    uint64_t plan_id;       /* identifies the plan the shard belongs to */
    int32_t agent;          /* this agent's id */
    int32_t n_agents;       /* M */
    int32_t n_global;       /* nodes in the whole graph */
    int32_t n_train_global; /* training nodes in the whole graph */
    int32_t d, c;           /* feature dimension, classes */
    int32_t n_own, n_halo;
    int32_t *gid;   /* (n_own + n_halo) global id of each local row */
    dgcn_csr a;     /* (n_own, n_own + n_halo) rows of A_hat, local column ids */
    dgcn_csr x;     /* (n_own, d) preprocessed features */
    int32_t *label; /* (n_own) class or -1 */
    uint8_t *split; /* (n_own) enum dgcn_split */
    int32_t n_peers;
    int32_t *peer;        /* (n_peers) peer agent ids, increasing */
    int32_t *send_ptr;    /* (n_peers + 1) offsets into send_idx */
    int32_t *send_idx;    /* (send_ptr[n_peers]) own local rows to send, peer by peer */
    int32_t *recv_ptr;    /* (n_peers + 1) offsets of each peer's halo range (from 0) */
    int32_t relay_rounds; /* R >= 1 with relay (hops of the longest route), else 0 */
    int32_t *peer_via;    /* (n_peers) with relay: neighbour on the route to peer p, else NULL */
    int32_t *peer_hops;   /* (n_peers) with relay: route length to peer p in [1, R], else NULL */
    int32_t n_transit;    /* flows this agent forwards */
    int32_t *transit;     /* (n_transit, DGCN_SHARD_TRANSIT_FIELDS) one per forwarded flow */
    /* Regression on graph signals (the dataset's samples, graph/dataset.h): the own nodes' z-scored
     * series, so each agent fills its own mini-batches (graph/traffic.h: sample s is steps
     * s .. s+d-1 as input, step s+d as target). series_t = 0 and NULL for classification. */
    int32_t series_t;     /* steps T = samples + d */
    int32_t n_samples[3]; /* samples per split (train, val, test), in time order */
    float *series;        /* (series_t, n_own) step-major */
} dgcn_shard;

/* Fields of a transit entry: the flow src -> dst of `rows` rows (forward direction) whose route
 * has `len` hops with this agent at position pos in [1, len) (src is position 0): it arrives from
 * neighbour prev in round pos and leaves to neighbour next in round pos + 1; the backward flow
 * arrives from next in round len - pos and leaves to prev in round len - pos + 1. */
enum {
    DGCN_TRANSIT_SRC = 0,
    DGCN_TRANSIT_DST,
    DGCN_TRANSIT_ROWS,
    DGCN_TRANSIT_POS,
    DGCN_TRANSIT_LEN,
    DGCN_TRANSIT_PREV,
    DGCN_TRANSIT_NEXT,
    DGCN_SHARD_TRANSIT_FIELDS
};

/* Builds the shards of all m agents from a preprocessed dataset, its A_hat (n, n) and a partition
 * (with the own nodes' series when ds->samples is set). shards is an array of m structs,
 * initialized here; on failure all are safe to fini. */
int dgcn_shard_build_all(const dgcn_dataset *ds, const dgcn_csr *a_hat, const int32_t *owner,
                         int32_t m, uint64_t plan_id, dgcn_shard *shards);

void dgcn_shard_fini(dgcn_shard *s);

/* Serialization (protobuf, graph/shard.proto). pack: *buf malloc'd, caller frees. unpack checks
 * every size and index before use; a malformed or truncated buffer is DGCN_EFORMAT. */
int dgcn_shard_pack(const dgcn_shard *s, uint8_t **buf, size_t *len);
int dgcn_shard_unpack(dgcn_shard *s, const uint8_t *buf, size_t len);

/* A plan folder on disk (graph/shard_dir.c): dir/manifest.txt, dir/owner.txt and
 * dir/shard-<k>.pb per agent. dir_write writes all; dir_read loads agent k's shard and checks it
 * against the manifest (plan id, agent, M): a truncated file or a shard of another plan is
 * DGCN_EFORMAT naming the file. */
int dgcn_shard_dir_write(const char *dir, const dgcn_shard *shards, int32_t m, const int32_t *owner,
                         int32_t n_global, const char *method, uint64_t seed);
int dgcn_shard_dir_read(const char *dir, int32_t agent, dgcn_shard *s);

#endif
