/* comm/transport.h: how agents talk, behind one interface.
 *
 * Two kinds of endpoint:
 *  - dgcn_transport: one agent's endpoint. It exchanges float buffers with the agent's communication
 *    neighbours (a neighbour exchange: one buffer to each neighbour, one from each) and carries
 *    opaque messages to and from the coordinator.
 *  - dgcn_hub (comm/hub.h): the coordinator's endpoint, one per run: a message to one agent, a
 *    message from any.
 * Both are opened by address; the scheme chooses the backend:
 *    inproc://NAME     agents are tasks of the coordinator's process (the hub creates NAME)
 *    ipc://PATH        ZeroMQ over a Unix socket
 *    tcp://HOST:PORT   ZeroMQ over TCP (tcp://HOST:0: any free port)
 *    mpi://            MPI under mpirun: world rank 0 is the coordinator, ranks 1..M the agents
 * Nothing outside comm/ names a backend; only comm/ includes zmq.h or mpi.h.
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

/* Largest coordinator message (bytes) that any backend carries and the control protocol packs or
 * unpacks: 1 GiB, since a set-up message carries a shard. */
#define DGCN_COORD_MAX_BYTES ((size_t)1 << 30)

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
    int channel;              /* DGCN_CH_HALO_FWD, DGCN_CH_HALO_BWD or DGCN_CH_PARAMS */
    int64_t iter;             /* iteration, checked by the receiver */
    int32_t layer;            /* layer (0 for params), checked by the receiver */
    const float *const *send; /* [n_neighbors] buffers to send */
    const int32_t *send_len;  /* [n_neighbors] floats in each */
    float *const *recv;       /* [n_neighbors] buffers to fill */
    const int32_t *recv_len;  /* [n_neighbors] floats expected from each */
    /* In-place hand-over (optional: 0 and NULL copy into recv). With lend = 1 the caller promises
     * to keep its send buffers unchanged until it begins its second exchange after this one (any
     * channel), and to be done reading what it received before it begins its next one. The
     * exchange then fills lent[i] with where neighbour i's payload can be read: the neighbour's own
     * send buffer where the transport hands it over in place (dgcn_transport_lends: inproc), else
     * recv[i] after copying into it. A transport that lends needs no recv (it may be NULL), and
     * its send buffers must come from dgcn_transport_lend_buffer, which outlive every reader. */
    int lend;
    const float **lent; /* [n_neighbors] filled when lend */
    /* Links left out of this exchange (optional: NULL = none). skip[i] != 0: nothing is sent to
     * neighbour i and nothing is awaited from it (lent[i] is left as is). Both ends of a link must
     * skip it in the same exchange (a time-varying topology, a link failure decided from a shared
     * seed: agent/links.h), which keeps every remaining link a barrier and a neighbour at most one
     * exchange ahead on every link. */
    const char *skip;
} dgcn_exchange;

/* Per-endpoint traffic counters (sent side). */
typedef struct dgcn_traffic {
    uint64_t bytes[DGCN_CH_COUNT];    /* payload bytes sent per channel */
    uint64_t messages[DGCN_CH_COUNT]; /* messages sent per channel */
    uint64_t dropped;     /* frames received from no known peer (no valid routing id), dropped */
    uint64_t allocations; /* inproc: allocation calls made to grow this endpoint's mailbox pool of
                           * message buffers (it grows to the most messages that ever waited at
                           * once, at most two per neighbour, as long as the longest); else 0 */
} dgcn_traffic;

typedef struct dgcn_transport dgcn_transport;
typedef struct dgcn_hub dgcn_hub;

/* Backend operations of an agent endpoint (one const table per backend). */
typedef struct dgcn_transport_ops {
    const char *name; /* the backend: "inproc", "zmq", "mpi" */
    /* Binds the endpoint neighbours will reach (address NULL: a default derived from the
     * coordinator's address, e.g. ipc://DIR/agent-K.sock beside ipc://DIR/coord.sock, or
     * tcp://HOST:0) and writes the address to announce in Hello to actual[cap] (port resolved; ""
     * when the backend needs none: inproc, mpi). Once per endpoint; does not block. */
    int (*bind)(dgcn_transport *t, const char *address, char *actual, size_t cap);
    /* Sets the neighbours (increasing agent ids, symmetric across agents) and connects to them at
     * addresses[i], as each announced it (ignored where bind announces ""). Once per endpoint;
     * the caller keeps the arrays. mpi: collective over the agents, blocks until every agent has
     * called it; the others do not block. */
    int (*connect)(dgcn_transport *t, const int32_t *neighbors, const char *const *addresses,
                   int32_t n);
    /* Sends x->send[i] to each neighbour i and receives x->recv[i] from each; blocks until all have
     * arrived or until the endpoint's deadline passes (per exchange). Buffers stay the caller's. */
    int (*exchange)(dgcn_transport *t, const dgcn_exchange *x);
    /* Sends len bytes to the coordinator; the caller keeps buf. Blocks at most the deadline. */
    int (*send_coord)(dgcn_transport *t, const void *buf, size_t len);
    /* Receives one coordinator message; on success *buf (malloc'd, caller frees) and *len. Blocks
     * at most deadline_ms (< 0: the endpoint's deadline). */
    int (*recv_coord)(dgcn_transport *t, void **buf, size_t *len, int deadline_ms);
    /* Releases everything; accepts NULL and sets *t to NULL. Blocks at most 1 s (zmq linger). */
    void (*close)(dgcn_transport **t);
    /* 1: exchanges with lend hand buffers over in place (see dgcn_exchange); 0: they copy. */
    int lends;
    /* A zeroed buffer of n floats to send with lend, owned by the transport and readable until
     * no neighbour can read it any more (inproc: until the fabric is gone); NULL when out of
     * memory. NULL where the transport does not lend. */
    float *(*lend_buffer)(dgcn_transport *t, size_t n);
} dgcn_transport_ops;

/* The neighbours the endpoint's last timed-out exchange waited for (filled when an exchange
 * returns DGCN_ETIMEDOUT; n = 0 before any). An agent forwards it to the coordinator, which
 * names the straggler from its neighbours' accounts. */
#define DGCN_STALL_MAX 32
typedef struct dgcn_stall {
    int32_t n;                   /* neighbours listed in who (at most DGCN_STALL_MAX) */
    int32_t who[DGCN_STALL_MAX]; /* agent ids that had not delivered */
    int64_t iter;                /* the exchange's iteration (as the transport saw it) */
    int32_t waited_ms;           /* how long the exchange waited, ms */
} dgcn_stall;

/* Common head of every backend's endpoint struct. */
struct dgcn_transport {
    const dgcn_transport_ops *ops;
    int32_t self; /* agent id in [0, n_agents) */
    int32_t n_agents;
    int32_t n_neighbors;
    int32_t *neighbors; /* [n_neighbors] agent ids, increasing */
    uint64_t run_id;
    int deadline_ms;        /* bound on every receive */
    dgcn_traffic traffic;   /* totals */
    dgcn_traffic *per_link; /* [n_neighbors] sent-side counters per neighbour */
    dgcn_stall stall;       /* whom the last timed-out exchange waited for */
    /* Agents that leave (docs/agent.md, "Agents that leave"): with watch_loss set before connect,
     * a backend that can tell a neighbour's end (zmq: its connection closed, the process gone or
     * silent past the heartbeat timeout) sets lost[i] and ends the wait for it; every later exchange leaves a lost neighbour out, as
     * dgcn_exchange.skip does. inproc and mpi never set it. */
    int watch_loss;
    char *lost;     /* [n_neighbors] 1: neighbour i is gone for good */
    int32_t n_lost; /* neighbours lost so far */
};

/* ---- opening by address ---- */

/* What a transport name or address stands for. The strings are static. */
typedef struct dgcn_transport_info {
    const char *scheme;   /* "inproc", "ipc", "tcp", "mpi" (a name: its default scheme) */
    const char *kind;     /* the backend: "inproc", "zmq", "mpi" (progress lines, config.json) */
    const char *launcher; /* how a coordinator starts the agents: "tasks" (of its own process),
                           * "processes" (`dgcn agent`), "job" (an external launcher: mpirun) */
} dgcn_transport_info;

/* Looks up a transport name (inproc, zmq, mpi) or an address (SCHEME://...). DGCN_EINVAL names an
 * unknown one and lists the known names and schemes. info may be NULL (a validity check). */
int dgcn_transport_lookup(const char *name_or_address, dgcn_transport_info *info);

/* The backend's name of a transport name or address ("inproc", "zmq", "mpi"), or "unknown". */
const char *dgcn_transport_kind(const char *name_or_address);

/* The hub's address for a transport name or address: inproc -> inproc://run-PID-N (a new name on
 * each call), zmq -> ipc://RUNDIR/coord.sock, or tcp://TCP_HOST:0 when tcp_host is given,
 * mpi -> mpi://; an address is checked and copied. DGCN_EINVAL for an unknown scheme, for zmq over
 * ipc without a run directory and for an ipc path too long for a socket. */
int dgcn_transport_address(const char *name_or_address, const char *rundir, const char *tcp_host,
                           char *out, size_t cap);

/* Opens agent `agent`'s endpoint of an n_agents run and links it to the coordinator whose hub
 * listens at coordinator_address (as dgcn_hub_open reported it). agent -1: the job decides (mpi:
 * world rank - 1; n_agents and run_id then come from the job and the hub). No neighbours yet:
 * bind, then connect. inproc: the hub must be open; mpi: collective with the hub's
 * dgcn_hub_open. Blocks at most deadline_ms, which also bounds every later receive. */
int dgcn_transport_open(const char *coordinator_address, int32_t agent, int32_t n_agents,
                        uint64_t run_id, int deadline_ms, dgcn_transport **t);

/* Joins the job that started this process, for transports whose processes an external launcher
 * starts (mpi:// under mpirun: initialises MPI): *rank in [0, *size). For any other transport it
 * does nothing: *rank = 0, *size = 1. Call once, from the main thread, before opening. */
int dgcn_transport_job_join(const char *address, int *argc, char ***argv, int *rank, int *size);

/* Leaves the job joined by dgcn_transport_job_join (MPI_Finalize); nothing if none. */
int dgcn_transport_job_leave(void);

static inline int dgcn_transport_bind(dgcn_transport *t, const char *address, char *actual,
                                      size_t cap) {
    return t->ops->bind(t, address, actual, cap);
}
static inline int dgcn_transport_connect(dgcn_transport *t, const int32_t *neighbors,
                                         const char *const *addresses, int32_t n) {
    return t->ops->connect(t, neighbors, addresses, n);
}
static inline int dgcn_transport_exchange(dgcn_transport *t, const dgcn_exchange *x) {
    int rc = t->ops->exchange(t, x);
    if (rc == 0 && x->lend && !t->ops->lends)
        for (int i = 0; i < t->n_neighbors; i++)
            if ((!x->skip || !x->skip[i]) && !t->lost[i]) x->lent[i] = x->recv[i];
    return rc;
}
/* 1 when exchanges with lend hand the neighbours' buffers over in place (no recv needed). */
static inline int dgcn_transport_lends(const dgcn_transport *t) { return t->ops->lends; }
/* A send buffer for exchanges with lend, owned by the transport (dgcn_transport_ops.lend_buffer);
 * NULL when the transport does not lend or memory is short. */
static inline float *dgcn_transport_lend_buffer(dgcn_transport *t, size_t n) {
    return t->ops->lend_buffer ? t->ops->lend_buffer(t, n) : NULL;
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
