/* comm/transport_int.h: helpers shared by the transport backends (not public).
 *
 * The matching rule every backend follows: messages from one neighbour arrive in the order they
 * were sent, and a neighbour runs at most one exchange ahead. So during an exchange the first
 * message from neighbour i must be exactly the expected one (channel, iteration, layer, length);
 * a second message from i during the same exchange belongs to the next exchange and is parked in
 * a one-message slot; a third is a protocol error. */
#ifndef DGCN_COMM_TRANSPORT_INT_H
#define DGCN_COMM_TRANSPORT_INT_H

#include "comm/hub.h"
#include "comm/transport.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One entry of the scheme registry (comm/transport.c): what an address SCHEME://... opens. A
 * backend defines one entry per scheme it serves and the registry lists it; nothing else names a
 * backend. */
typedef struct dgcn__scheme {
    const char *scheme;   /* "tcp" for tcp://... */
    const char *form;     /* how an address looks, for messages: "tcp://HOST:PORT" */
    const char *kind;     /* the backend, also the transport name that selects it: "zmq" */
    const char *launcher; /* "tasks", "processes" or "job" (coordinator/launch.c) */
    /* The hub's address for the transport name `kind` (NULL: the entry is not a name's default). */
    int (*name_address)(const char *rundir, const char *tcp_host, char *out, size_t cap);
    /* dgcn_transport_open and dgcn_hub_open for an address of this scheme (see their contracts). */
    int (*open)(const char *address, int32_t agent, int32_t n_agents, uint64_t run_id,
                int deadline_ms, dgcn_transport **t);
    int (*hub_open)(const char *address, int32_t n_agents, uint64_t run_id, int deadline_ms,
                    char *actual, size_t cap, dgcn_hub **h);
    /* launcher "job" only (else NULL): joins / leaves the externally started job. */
    int (*job_join)(int *argc, char ***argv, int *rank, int *size);
    int (*job_leave)(void);
} dgcn__scheme;

/* The entries (defined by the backends). */
extern const dgcn__scheme dgcn__scheme_inproc;
extern const dgcn__scheme dgcn__scheme_ipc;
extern const dgcn__scheme dgcn__scheme_tcp;
extern const dgcn__scheme dgcn__scheme_mpi;

/* The entry of address's scheme, or NULL with DGCN_EINVAL set naming it and listing the known
 * schemes. */
const dgcn__scheme *dgcn__scheme_find(const char *address);

/* A bind or connect that a backend does not need: bind announces "" and connect only sets the
 * neighbour list. */
int dgcn__bind_none(dgcn_transport *t, const char *address, char *actual, size_t cap);

/* Header carried by every neighbour message. */
typedef struct dgcn__hdr {
    uint64_t run_id;
    int32_t sender;  /* agent id */
    int32_t channel; /* dgcn_channel */
    int64_t iter;
    int32_t layer;
    int32_t length; /* payload floats */
} dgcn__hdr;

/* Fills the common head of an endpoint: copies neighbors (must be increasing, distinct, in
 * [0, n_agents) and != self) and allocates the per-link counters. */
int dgcn__transport_init(dgcn_transport *t, const dgcn_transport_ops *ops, int32_t self,
                         int32_t n_agents, const int32_t *neighbors, int32_t n_neighbors,
                         uint64_t run_id, int deadline_ms);
void dgcn__transport_fini(dgcn_transport *t);

/* Replaces the neighbour list (and per-link counters) of an initialised endpoint. */
int dgcn__transport_set_neighbors(dgcn_transport *t, const int32_t *neighbors, int32_t n);

/* Index of agent `who` in t->neighbors, or -1. O(log n). */
int dgcn__neighbor_index(const dgcn_transport *t, int32_t who);

/* 1 when exchange x leaves neighbour i out: skipped in x, or lost (comm/transport.h). */
static inline int dgcn__skips(const dgcn_transport *t, const dgcn_exchange *x, int i) {
    return (x->skip && x->skip[i]) || t->lost[i];
}

/* Validates an exchange descriptor against the endpoint (channel, pointers, lengths). */
int dgcn__check_exchange(const dgcn_transport *t, const dgcn_exchange *x);

/* Header for this endpoint's message to neighbour i in exchange x. */
dgcn__hdr dgcn__make_hdr(const dgcn_transport *t, const dgcn_exchange *x, int i);

/* Counts one sent message of n floats to neighbour i on channel ch. */
void dgcn__count_send(dgcn_transport *t, int i, int ch, int32_t n);

/* Routes one received neighbour message. Checks run id, sender and channel; if neighbour i has
 * not delivered yet in this exchange, checks iteration, layer and length exactly and copies the
 * payload (n_bytes bytes, any alignment) into x->recv[i], setting got[i] and *ahead = 0. If it has,
 * sets *ahead = 1 and *slot = i: the caller parks the message (one per neighbour) for the next
 * exchange. Never writes x->recv on error. */
int dgcn__route(dgcn_transport *t, const dgcn_exchange *x, const dgcn__hdr *h, const void *payload,
                size_t n_bytes, char *got, int *ahead, int *slot);

/* dgcn__route, except that with in_place and x->lend the payload is handed over in place
 * (x->lent[i] = payload; the caller keeps it readable until the receiver's next exchange) instead
 * of copied into x->recv[i]. */
int dgcn__route_lend(dgcn_transport *t, const dgcn_exchange *x, const dgcn__hdr *h,
                     const void *payload, size_t n_bytes, char *got, int *ahead, int *slot,
                     int in_place);

/* The zmq backend's neighbour frame (comm/message.proto NeighborMsg), decoded and checked before
 * it is routed: `frame` (size bytes) arrived from agent id; it must come from a neighbour, be at
 * most the bytes expected from it (recv_len floats plus the header; max_msg once got[i] is set and
 * the frame can only be parked for the next exchange), parse, and name id as its sender. On
 * success *out is the message (free with dgcnpb__neighbor_msg__free_unpacked), ready for
 * dgcn__route; DGCN_EPROTO otherwise, *out NULL. Pure: reads t, x and got, sends nothing. */
typedef struct Dgcnpb__NeighborMsg Dgcnpb__NeighborMsg;
int dgcn__zmq_frame_decode(const dgcn_transport *t, const dgcn_exchange *x, int32_t id,
                           const char *got /* [n_neighbors] */, size_t max_msg, const void *frame,
                           size_t size, Dgcnpb__NeighborMsg **out);

/* DGCN_ETIMEDOUT naming every neighbour with got[i] == 0; records them in t->stall. */
int dgcn__timeout(dgcn_transport *t, const dgcn_exchange *x, const char *got, int waited_ms);

/* Absolute CLOCK_MONOTONIC time deadline_ms from now. The first call installs a SIGCONT handler
 * (unless the program has its own) that counts the times this process was continued. */
struct timespec dgcn__deadline_after(int deadline_ms);

/* A wait that found its deadline *dl passed, and began when dgcn__continued() was *mark: when the
 * process was stopped meanwhile (a SIGCONT since *mark: SIGSTOP, Ctrl-Z of the whole job) or the
 * wait overran *dl by more than DGCN__STALL_MS (a suspended machine), that time is not the peers'
 * silence: *dl starts over, deadline_ms from now, *mark is brought up to date and 1 is returned.
 * 0 otherwise: the deadline stands. */
#define DGCN__STALL_MS 1000
int dgcn__deadline_renew(struct timespec *dl, unsigned *mark, int deadline_ms);

/* The times this process has been continued after a stop since the first deadline was set. */
unsigned dgcn__continued(void);

/* Milliseconds left until an absolute monotonic deadline (>= 0). */
int dgcn__ms_left(const struct timespec *deadline);

/* Sleeps about us microseconds (polling backoff). */
void dgcn__nap(int us);

#endif
