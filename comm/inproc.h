/* comm/inproc.h: the in-process backend: agents are tasks (core/task.h) or threads of one process.
 *
 * A fabric holds one mailbox per agent and one for the coordinator (mutex + wait queue on
 * CLOCK_MONOTONIC). A message goes straight into the receive buffer its receiver has posted, or
 * into a reusable buffer of the receiver's mailbox, so senders never wait; every receive waits at
 * most its deadline. Used for tests and for simulating networks of many agents.
 * Outside comm/ the fabric is reached by address (dgcn_hub_open("inproc://NAME") creates it); this
 * header is for comm's own tests, which play malformed peers with dgcn_inproc_inject. */
#ifndef DGCN_COMM_INPROC_H
#define DGCN_COMM_INPROC_H

#include "comm/hub.h"
#include "comm/transport.h"

#include <stdint.h>

typedef struct dgcn_inproc_fabric dgcn_inproc_fabric;

/* A fabric for n_agents agents of run run_id; deadline_ms (> 0) bounds every receive of the
 * endpoints opened on it. */
int dgcn_inproc_fabric_new(int32_t n_agents, uint64_t run_id, int deadline_ms,
                           dgcn_inproc_fabric **f);

/* Drops the caller's reference: the fabric and any undelivered messages are freed once its hub and
 * endpoints are closed too. Accepts NULL and sets *f to NULL. */
void dgcn_inproc_fabric_destroy(dgcn_inproc_fabric **f);

/* Agent `agent`'s endpoint with the given neighbours (increasing agent ids; the fabric keeps no
 * reference to the array). Each agent is opened at most once at a time. Thread-safe. */
int dgcn_inproc_open(dgcn_inproc_fabric *f, int32_t agent, const int32_t *neighbors,
                     int32_t n_neighbors, dgcn_transport **t);

/* The coordinator's endpoint (at most one open at a time). */
int dgcn_inproc_hub(dgcn_inproc_fabric *f, dgcn_hub **h);

/* Posts a neighbour message to agent `to` as if `sender` had sent it, with any header values: used
 * by tests to play a foreign, stale or malformed peer. payload: [n] floats (may be NULL if n == 0). */
int dgcn_inproc_inject(dgcn_inproc_fabric *f, int32_t to, uint64_t run_id, int32_t sender,
                       int channel, int64_t iter, int32_t layer, const float *payload, int32_t n);

#endif
