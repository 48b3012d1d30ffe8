/* coordinator/session.h: one distributed run's agents and the coordinator's link to them.
 *
 * A session opens the coordinator's hub at the transport's address (comm/hub.h) and starts the
 * agents the way the address's scheme says (coordinator/launch.h: tasks for inproc://, `dgcn
 * agent` processes for ipc:// and tcp://, the ranks of an mpirun job for mpi://); the agents open
 * their endpoints at the hub's address, bind, and announce their mesh endpoints in Hello.
 * Every wait is bounded by the session's deadline. An agent that reports an error, dies or stays
 * silent ends the run with DGCN_EPEER / DGCN_ETIMEDOUT naming the agent and its last iteration.
 * SIGINT and SIGTERM during a session end it with DGCN_EINTR; destroy stops every agent and
 * restores the signal handlers. */
#ifndef DGCN_COORDINATOR_SESSION_H
#define DGCN_COORDINATOR_SESSION_H

#include "comm/control.h"
#include "comm/hub.h"

#include <stdint.h>

typedef struct dgcn_session_opts {
    const char *transport; /* a name (inproc, zmq, mpi) or an address (comm/transport.h) */
    int32_t n_agents;      /* M (a job: must be its size - 1) */
    int deadline_ms;       /* bound on every wait (> 0) */
    const char *rundir;    /* a name's address is derived from it (zmq: ipc://RUNDIR/coord.sock) */
    const char *tcp_host;  /* zmq: tcp://TCP_HOST:0 instead of ipc (dgcn_transport_address) */
    const char *program;   /* agents started as processes: the dgcn binary (NULL: /proc/self/exe) */
    int workers;           /* agents run as tasks (inproc): worker threads (<= 0: one per core) */
    const char *keys_dir;  /* agents started as processes over tcp: RUNDIR/keys/agent-K.key, 0600,
                            * for agents started by hand (NULL: no key files) */
    int agent_deadline_ms; /* the agents' bound on every wait (<= 0: deadline_ms); at most
                            * deadline_ms, so that an agent waiting for a stalled neighbour
                            * times out and names it first */
    const char *wait_for_agents; /* agents started by hand, "K,..." or "all" (NULL: none): not
                                  * started; their commands are printed and their Hello awaited
                                  * (coordinator/launch.h) */
    int continue_on_loss;        /* after set-up, an agent whose process ended is reported by
                           * dgcn_session_recv as lost instead of ending the session */
} dgcn_session_opts;

typedef struct dgcn_session dgcn_session;

/* Opens the hub and starts the agents (processes or tasks; a job's agent ranks are already
 * running and the hub's open is collective with them). On failure nothing is left running and the
 * signal handlers are restored. */
int dgcn_session_start(dgcn_session **out, const dgcn_session_opts *o);

/* Waits for every agent's Hello, then sends setups[k] to agent k after filling in run_id, agent,
 * n_agents and the neighbours' mesh endpoints (the caller's arrays stay the caller's). */
int dgcn_session_setup(dgcn_session *s, dgcn_ctl_setup *setups /* [M] */);

/* Receives the next Report or State (a checkpoint) from any agent into *m (release with
 * dgcn_ctl_msg_fini); a message that claims another agent's id is DGCN_EPROTO. An Error from
 * an agent, a dead agent process or silence past deadline_ms (< 0: the session's) is an error whose
 * detail names the agent and the last iteration it reported. With continue_on_loss, an agent process
 * that ended after set-up comes instead as an Error message (kind DGCN_CTL_ERROR, agent K, iter its
 * last report, code DGCN_EPEER, message how it ended), once per agent; the session goes on without
 * it (its STOP skipped, its exit status not checked by dgcn_session_finish). */
int dgcn_session_recv(dgcn_session *s, dgcn_ctl_msg *m, int deadline_ms);

/* Ends a successful run: STOP to every agent, then waits for the processes or tasks to end. */
int dgcn_session_finish(dgcn_session *s);
/* Kills agent k's process (dgcn_launch_kill); with continue_on_loss the session then reports it
 * lost as any other, and dgcn_session_finish does not check its exit status (killed after its
 * last report, it is not reported lost). */
int dgcn_session_kill(dgcn_session *s, int32_t k);

/* Stops what is still running (ABORT, SIGTERM then SIGKILL, join), closes the hub. Accepts NULL;
 * sets *s to NULL. */
void dgcn_session_destroy(dgcn_session **s);

dgcn_hub *dgcn_session_hub(dgcn_session *s);
uint64_t dgcn_session_run_id(const dgcn_session *s);

/* For every command that starts a session, before anything else: when the transport's agents are
 * the ranks of an externally started job (mpi:// under mpirun), joins it; on ranks >= 1 runs the
 * agent loop n_runs times (one session each), sets *is_agent = 1 and returns its status (the caller
 * exits with it); on rank 0 sets *n_agents = ranks - 1. For other transports it does nothing:
 * *is_agent = 0 and *n_agents is left as it is. */
int dgcn_session_job_enter(const char *transport, int *argc, char ***argv, int deadline_ms,
                           int n_runs, int *is_agent, int32_t *n_agents);

/* Leaves the job after a successful run (a failed run exits without it so that the job's launcher
 * stops the agents); nothing for other transports. */
void dgcn_session_job_leave(void);

#endif
