/* coordinator/session.h: one distributed run's agents and the coordinator's link to them.
 *
 * A session starts the agents on a backend and hands the coordinator a dgcn_hub:
 *  - inproc: agents are threads of this process running dgcn_run_agent (agent/run.h);
 *  - zmq:    M child processes `dgcn agent --coordinator ipc://RUNDIR/coord.sock --agent k
 *            --run-id X` (or tcp://), each binding its own mesh endpoint; OPENBLAS_NUM_THREADS=1;
 *            children die with the coordinator (PR_SET_PDEATHSIG) and are always reaped;
 *  - mpi:    under mpirun, rank 0 is the coordinator and ranks 1..M run the agent loop
 *            (dgcn_session_mpi_enter).
 * Every wait is bounded by the session's deadline. An agent that reports an error, dies or stays
 * silent ends the run with DGCN_EPEER / DGCN_ETIMEDOUT naming the agent and its last iteration.
 * SIGINT and SIGTERM during a session end it with DGCN_EINTR; destroy stops every agent. */
#ifndef DGCN_COORDINATOR_SESSION_H
#define DGCN_COORDINATOR_SESSION_H

#include "comm/control.h"
#include "comm/hub.h"

#include <stdint.h>

typedef enum dgcn_backend { DGCN_BACKEND_INPROC = 0, DGCN_BACKEND_ZMQ = 1, DGCN_BACKEND_MPI = 2 } dgcn_backend;

/* "inproc", "zmq", "mpi" <-> enum; DGCN_EINVAL for an unknown name. */
int dgcn_backend_parse(const char *name, dgcn_backend *out);
const char *dgcn_backend_name(dgcn_backend b);

typedef struct dgcn_session_opts {
    dgcn_backend backend;
    int32_t n_agents;     /* M (mpi: must be the world size - 1) */
    int deadline_ms;      /* bound on every wait (> 0) */
    const char *rundir;   /* zmq over ipc: the sockets live here (created if absent) */
    const char *tcp_host; /* zmq: use tcp://HOST:PORT endpoints on this host instead of ipc */
    const char *program;  /* zmq: the dgcn binary to start (NULL: /proc/self/exe) */
} dgcn_session_opts;

typedef struct dgcn_session dgcn_session;

/* Starts the agents (zmq: spawns the processes; inproc: threads start in setup; mpi: opens the hub,
 * collective with the agent ranks). */
int dgcn_session_start(dgcn_session **out, const dgcn_session_opts *o);

/* Waits for every agent's Hello, then sends setups[k] to agent k after filling in run_id, agent,
 * n_agents and the neighbours' mesh endpoints (the caller's arrays stay the caller's). */
int dgcn_session_setup(dgcn_session *s, dgcn_ctl_setup *setups /* [M] */);

/* Receives the next Report from any agent into *m (release with dgcn_ctl_msg_fini). An Error from
 * an agent, a dead agent process or silence past deadline_ms (< 0: the session's) is an error whose
 * detail names the agent and the last iteration it reported. */
int dgcn_session_recv(dgcn_session *s, dgcn_ctl_msg *m, int deadline_ms);

/* Ends a successful run: STOP to every agent, then waits for the processes or threads to exit. */
int dgcn_session_finish(dgcn_session *s);

/* Stops what is still running (ABORT, SIGTERM then SIGKILL, join), closes the hub. Accepts NULL;
 * sets *s to NULL. */
void dgcn_session_destroy(dgcn_session **s);

dgcn_hub *dgcn_session_hub(dgcn_session *s);
uint64_t dgcn_session_run_id(const dgcn_session *s);

/* For commands given --transport mpi: initializes MPI; on ranks >= 1 runs the agent loop n_runs
 * times (one session each), sets *is_agent = 1 and returns its status (the caller exits with it);
 * on rank 0 sets *is_agent = 0 and *n_agents = world size - 1. */
int dgcn_session_mpi_enter(int *argc, char ***argv, int deadline_ms, int n_runs, int *is_agent,
                           int32_t *n_agents);

/* Ends MPI on rank 0 after a successful run (a failed run exits without it so that mpirun stops
 * the agents). */
void dgcn_session_mpi_leave(void);

#endif
