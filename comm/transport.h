/* comm/transport.h: how agents talk, behind one interface.
 *
 * Two kinds of endpoint:
 *  - dgcn_transport: one agent's endpoint. It exchanges float buffers with the agent's communication
 *    neighbours (a neighbour exchange: one buffer to each neighbour, one from each) and carries
 *    opaque messages to and from the coordinator.
 *  - dgcn_hub: the coordinator's endpoint, one per run: a message to one agent, a message from any.
 * Backends: "inproc" (agents are threads of one process), "zmq" (tcp:// or ipc://), "mpi" (rank 0
 * coordinator, ranks 1..M agents). Only comm/ includes zmq.h or mpi.h.
 *
 * Every receive is bounded by a deadline; passing it returns DGCN_ETIMEDOUT with a detail that
 * names the peer, the iteration, the layer and the channel. Every neighbour message carries a
 * header (run id, sender, iteration, layer, channel, length) that the receiver checks before it
 * copies anything: a foreign run id, an unexpected sender, a stale or far-future iteration or a
 * wrong length is DGCN_EPROTO and is never mixed in. Bytes (payload floats * 4) and messages are
 * counted per link and per channel. */
#ifndef DGCN_COMM_TRANSPORT_H
#define DGCN_COMM_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef enum dgcn_channel {
    DGCN_CH_HALO_FWD = 0, /* forward halo rows */
    DGCN_CH_HALO_BWD = 1, /* backward halo gradient rows */
    DGCN_CH_PARAMS = 2,   /* consensus: parameter (and tracking) vectors */
    DGCN_CH_CONTROL = 3,  /* coordinator <-> agent messages */
    DGCN_CH_COUNT = 4
} dgcn_channel;

const char *dgcn_channel_name(int ch); /* "halo_fwd", "halo_bwd", "params", "control" */

/* One neighbour exchange. Buffer i goes to / comes from neighbour i in the order the transport was
 * opened with. A zero length still sends and receives a (header-only) message so that every
 * exchange is a barrier between neighbours. */
typedef struct dgcn_exchange {
    int channel;             /* DGCN_CH_HALO_FWD, DGCN_CH_HALO_BWD or DGCN_CH_PARAMS */
    int64_t iter;            /* iteration, checked by the receiver */
    int32_t layer;           /* layer (0 for params), checked by the receiver */
    const float *const *send;/* [n_neighbors] buffers to send */
    const int32_t *send_len; /* [n_neighbors] floats in each */
    float *const *recv;      /* [n_neighbors] buffers to fill */
    const int32_t *recv_len; /* [n_neighbors] floats expected from each */
} dgcn_exchange;

/* Per-endpoint traffic counters (sent side). */
typedef struct dgcn_traffic {
    uint64_t bytes[DGCN_CH_COUNT];    /* payload bytes sent per channel */
    uint64_t messages[DGCN_CH_COUNT]; /* messages sent per channel */
} dgcn_traffic;

typedef struct dgcn_transport dgcn_transport;
typedef struct dgcn_hub dgcn_hub;

/* Backend operations of an agent endpoint (one const table per backend). */
typedef struct dgcn_transport_ops {
    const char *name;
    /* Sends x->send[i] to each neighbour i and receives x->recv[i] from each; blocks until all have
     * arrived or until the endpoint's deadline passes (per exchange). Buffers stay the caller's. */
    int (*exchange)(dgcn_transport *t, const dgcn_exchange *x);
    /* Sends len bytes to the coordinator; the caller keeps buf. Blocks at most the deadline. */
    int (*send_coord)(dgcn_transport *t, const void *buf, size_t len);
    /* Receives one coordinator message; on success *buf (malloc'd, caller frees) and *len. Blocks
     * at most deadline_ms (< 0: the endpoint's deadline). */
    int (*recv_coord)(dgcn_transport *t, void **buf, size_t *len, int deadline_ms);
    /* Releases everything; accepts NULL and sets *t to NULL. */
    void (*close)(dgcn_transport **t);
} dgcn_transport_ops;

/* Common head of every backend's endpoint struct. */
struct dgcn_transport {
    const dgcn_transport_ops *ops;
    int32_t self;          /* agent id in [0, n_agents) */
    int32_t n_agents;
    int32_t n_neighbors;
    int32_t *neighbors;    /* [n_neighbors] agent ids, increasing */
    uint64_t run_id;
    int deadline_ms;       /* bound on every receive */
    dgcn_traffic traffic;  /* totals */
    dgcn_traffic *per_link;/* [n_neighbors] sent-side counters per neighbour */
};

static inline int dgcn_transport_exchange(dgcn_transport *t, const dgcn_exchange *x) {
    return t->ops->exchange(t, x);
}
static inline int dgcn_transport_send_coord(dgcn_transport *t, const void *buf, size_t len) {
    return t->ops->send_coord(t, buf, len);
}
static inline int dgcn_transport_recv_coord(dgcn_transport *t, void **buf, size_t *len,
                                            int deadline_ms) {
    return t->ops->recv_coord(t, buf, len, deadline_ms);
}
static inline void dgcn_transport_close(dgcn_transport **t) {
    if (t && *t) (*t)->ops->close(t);
}

#endif
