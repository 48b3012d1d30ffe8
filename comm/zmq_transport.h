/* comm/zmq_transport.h: the ZeroMQ backend (tcp:// or ipc://), protobuf-c on the wire. Outside
 * comm/ it is reached by address (comm/transport.h); this header is for comm's own tests.
 *
 * The coordinator binds one ROUTER endpoint (dgcn_zmq_hub_open); each agent connects a DEALER to it
 * (dgcn_zmq_open) that identifies itself by its agent id. For the neighbour mesh each agent binds
 * its own ROUTER (dgcn_zmq_bind, e.g. ipc://RUNDIR/agent-3.sock or tcp://HOST:PORT) and connects
 * one DEALER to each neighbour's (dgcn_zmq_connect_neighbors). Frames are size-checked against
 * the expected length before they are unpacked; sockets linger at most 1 s on close.
 *
 * Every tcp:// socket is authenticated and encrypted with CURVE (comm/curve.h): the hub is a CURVE
 * server whose guard admits the run's M agent keys, an agent's mesh is a CURVE server whose guard
 * admits its neighbours' keys, and every DEALER is a CURVE client with the agent's own keypair.
 * A frame whose routing id is not the agent its key was admitted as counts as from no agent of
 * the run (dropped); refused handshakes are counted with the dropped frames. ipc:// sockets live in
 * the 0700 run directory and use no CURVE. */
#ifndef DGCN_COMM_ZMQ_TRANSPORT_H
#define DGCN_COMM_ZMQ_TRANSPORT_H

#include "comm/curve.h"
#include "comm/hub.h"
#include "comm/transport.h"

#include <stddef.h>
#include <stdint.h>

typedef struct dgcn_zmq_opts {
    int32_t agent; /* this agent's id in [0, n_agents) */
    int32_t n_agents;
    uint64_t run_id;
    int deadline_ms;         /* bound on every receive and on a blocked send, ms (> 0) */
    const char *coordinator; /* the hub's endpoint to connect to; NULL: no coordinator link */
    size_t max_msg_bytes; /* cap on a neighbour frame that arrives one exchange early; 0: 1 GiB */
    const dgcn_curve_creds *creds; /* this agent's CURVE keys (copied), needed when the coordinator
                                    * or the mesh is tcp://; NULL: none */
} dgcn_zmq_opts;

/* Opens an agent endpoint with no neighbours yet, connected to the coordinator if o->coordinator. */
int dgcn_zmq_open(const dgcn_zmq_opts *o, dgcn_transport **t);

/* Binds the agent's mesh endpoint (tcp://HOST:PORT, tcp://HOST:0 for any port, ipc://PATH; NULL:
 * ipc://DIR/agent-K.sock beside an ipc coordinator, tcp://HOST:0 on a tcp coordinator's host). The
 * endpoint to announce goes to actual[cap] when actual != NULL: as bound (port resolved), and over
 * tcp followed by " curve:KEY", this agent's public key. tcp needs the agent's keys; its guard
 * lets neighbours' handshakes wait until dgcn_zmq_connect_neighbors names their keys (at most the
 * deadline). Once per endpoint; an ipc socket file is removed on close. */
int dgcn_zmq_bind(dgcn_transport *t, const char *endpoint, char *actual, size_t cap);

/* Sets the neighbours (increasing agent ids) and connects to their mesh endpoints ([n] strings, as
 * dgcn_zmq_bind announced them: a tcp one must carry " curve:KEY"). The mesh then admits exactly
 * these keys, each as its neighbour. Once per endpoint; the caller keeps the arrays. */
int dgcn_zmq_connect_neighbors(dgcn_transport *t, const int32_t *neighbors,
                               const char *const *endpoints, int32_t n);

/* t from dgcn_zmq_open, with watch_loss: reads the links' disconnect events now, as an exchange does between its polls,
 * and returns the number of neighbours lost so far (comm/transport.h: lost, n_lost). */
int32_t dgcn_zmq_check_lost(dgcn_transport *t);

/* The coordinator's endpoint, bound at `endpoint` (tcp://0.0.0.0:PORT, tcp://HOST:0, ipc://PATH); the
 * endpoint actually bound goes to actual[cap] when actual != NULL. Over tcp it makes the run's keys
 * (dgcn_hub_credentials hands them out) and admits only the agents' keys. */
int dgcn_zmq_hub_open(const char *endpoint, int32_t n_agents, uint64_t run_id, int deadline_ms,
                      char *actual, size_t cap, dgcn_hub **h);

#endif
