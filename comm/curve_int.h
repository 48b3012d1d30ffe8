/* comm/curve_int.h: the ZAP handler and the CURVE socket options of the zmq backend (not public).
 *
 * A CURVE server socket (the hub's ROUTER, an agent's mesh ROUTER) gets a guard: a thread that
 * answers the ZAP requests of its ZeroMQ context (inproc://zeromq.zap.01) and watches the socket's
 * failed handshakes. The guard admits a client key only if it was admitted (dgcn__guard_admit),
 * and names it by its agent's routing id ("a<K>"), which libzmq hands on as each frame's
 * "User-Id". Until the guard is sealed a request for an unknown key waits (an agent's mesh does
 * not know its neighbours before its set-up message); once sealed, or after the deadline, it is
 * refused. Every failed handshake (refused key, no keys, wrong mechanism, a replayed or garbled
 * handshake) is counted, never fatal. */
#ifndef DGCN_COMM_CURVE_INT_H
#define DGCN_COMM_CURVE_INT_H

#include "comm/curve.h"

#include <stdint.h>

typedef struct dgcn__guard dgcn__guard;

/* Makes sock (a socket of ctx, not yet bound) a CURVE server with the Z85 secret key and starts
 * its guard: the ZAP handler of ctx (one per context) and a monitor of sock's handshakes. Pending
 * requests wait at most deadline_ms. `who` names the socket in messages ("coordinator",
 * "agent 3 mesh"). */
int dgcn__guard_start(void *ctx, void *sock, const char *secret_key, int deadline_ms,
                      const char *who, dgcn__guard **g);

/* Admits the Z85 public key as agent `agent`'s. Thread-safe. */
int dgcn__guard_admit(dgcn__guard *g, const char *public_key, int32_t agent);

/* No more keys will be admitted: waiting and later requests for other keys are refused. */
void dgcn__guard_seal(dgcn__guard *g);

/* Handshakes refused or failed so far. Thread-safe. */
uint64_t dgcn__guard_refused(const dgcn__guard *g);

/* Stops the guard's thread (before sock and ctx are closed) and frees it. Accepts NULL; sets *g
 * to NULL. */
void dgcn__guard_stop(dgcn__guard **g);

/* Makes sock (not yet connected) a CURVE client: its own keypair and the server's public key. */
int dgcn__curve_client(void *sock, const char *public_key, const char *secret_key,
                       const char *server_key, const char *who);

/* A keypair (Z85) from zmq_curve_keypair. */
int dgcn__curve_keypair(char *public_key, char *secret_key);

/* Splits a mesh endpoint as announced over tcp, "tcp://HOST:PORT curve:KEY", into the address
 * (addr[cap]) and the key (key[DGCN_CURVE_KEY_LEN + 1], "" when absent). */
int dgcn__curve_split_endpoint(const char *announced, char *addr, size_t cap, char *key);

#endif
