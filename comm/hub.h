/* comm/hub.h: the coordinator's endpoint, the same for every backend.
 *
 * A hub sends opaque messages to one agent and receives from any agent. dgcn_hub_open() opens it by
 * address (comm/transport.h lists the schemes). Messages are checked on receipt (run id, agent id,
 * size) before the caller sees them. */
#ifndef DGCN_COMM_HUB_H
#define DGCN_COMM_HUB_H

#include "comm/curve.h"
#include "comm/transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dgcn_hub_ops {
    const char *name;
    /* Sends len bytes to agent `agent`; the caller keeps buf. Blocks at most the hub's deadline
     * (e.g. while the agent has not connected yet). */
    int (*send)(dgcn_hub *h, int32_t agent, const void *buf, size_t len);
    /* Receives one message from any agent: *agent, *buf (malloc'd, caller frees), *len. Blocks at
     * most deadline_ms (< 0: the hub's deadline); DGCN_ETIMEDOUT names the silent agents. */
    int (*recv_any)(dgcn_hub *h, int32_t *agent, void **buf, size_t *len, int deadline_ms);
    /* Releases everything; accepts NULL and sets *h to NULL. */
    void (*close)(dgcn_hub **h);
    /* Does not block: 1 when agent `agent`'s process is known to be gone, with how[cap] saying
     * so; 0 when it is alive or the backend cannot tell. NULL: the backend never can (mpi fills
     * it for ranks on this host). */
    int (*ended)(dgcn_hub *h, int32_t agent, char *how, size_t cap);
} dgcn_hub_ops;

/* Common head of every backend's hub. */
struct dgcn_hub {
    const dgcn_hub_ops *ops;
    int32_t n_agents;
    uint64_t run_id;
    int deadline_ms;               /* default bound on every receive, ms */
    double *last_heard_ms;         /* [n_agents] dgcn_now_ms() of the last message, < 0: never */
    dgcn_traffic traffic;          /* sent side; everything is on DGCN_CH_CONTROL; dropped: frames
                            * received from no agent of the run and refused handshakes (zmq) */
    const dgcn_curve_creds *curve; /* [n_agents] the agents' CURVE keys (tcp), or NULL */
};

/* Opens the coordinator's endpoint of an n_agents run at address: inproc://NAME creates the
 * process-wide fabric NAME (DGCN_EINVAL if it exists; it lives until the hub and every endpoint on
 * it are closed), ipc://PATH binds a socket (the folder is created 0700 if absent; on close the socket
 * files the agents bind by default beside it are removed), tcp://HOST:PORT binds (port 0: any),
 * mpi:// on world rank 0 of M+1 ranks (collective with the agents' dgcn_transport_open; agents then
 * learn run_id from it). The address agents connect to (port resolved) goes to actual[cap] when
 * actual != NULL. Blocks at most deadline_ms, the default bound of every later receive. */
int dgcn_hub_open(const char *address, int32_t n_agents, uint64_t run_id, int deadline_ms,
                  char *actual, size_t cap, dgcn_hub **h);

/* Agent `agent`'s CURVE credentials (its keypair and the coordinator's public key) into *c, for
 * the agent alone (a child's environment, a 0600 key file); *has = 0 when the hub's transport
 * uses none (inproc, ipc, mpi). DGCN_EINVAL for an agent outside [0, n_agents). */
int dgcn_hub_credentials(const dgcn_hub *h, int32_t agent, dgcn_curve_creds *c, int *has);

static inline int dgcn_hub_send(dgcn_hub *h, int32_t agent, const void *buf, size_t len) {
    return h->ops->send(h, agent, buf, len);
}
static inline int dgcn_hub_recv_any(dgcn_hub *h, int32_t *agent, void **buf, size_t *len,
                                    int deadline_ms) {
    return h->ops->recv_any(h, agent, buf, len, deadline_ms);
}
static inline int dgcn_hub_agent_ended(dgcn_hub *h, int32_t agent, char *how, size_t cap) {
    return h && h->ops->ended ? h->ops->ended(h, agent, how, cap) : 0;
}
static inline void dgcn_hub_close(dgcn_hub **h) {
    if (h && *h) (*h)->ops->close(h);
}

#endif
