/* coordinator/launch.h: how a session starts, watches and stops its agents.
 *
 * One small table per way of starting agents, chosen by the launcher name that the transport's
 * scheme reports (dgcn_transport_lookup), never by backend:
 *  - "tasks":     M tasks of this process on a pool of worker threads (core/task.h; one worker per
 *                 core unless o.workers says otherwise); each opens its endpoint at the hub's
 *                 address, binds, and runs dgcn_run_agent (agent/run.h);
 *  - "processes": M children `dgcn agent --coordinator ADDRESS --agent k --agents M --run-id X
 *                 --deadline-ms D`, each binding its default mesh endpoint; OPENBLAS_NUM_THREADS=1;
 *                 over tcp each child finds its CURVE keys in its environment (DGCN_CURVE_KEYS,
 *                 never argv), and KEYS_DIR/keys/agent-k.key (0600) holds them for an agent
 *                 started by hand; they die with the coordinator (PR_SET_PDEATHSIG) and are
 *                 always reaped; the agents of o.by_hand are not started: their key files are
 *                 written and, for each, the `dgcn agent` command that joins the run from another
 *                 host is printed to stderr (the session then waits for their Hello);
 *  - "job":       an external launcher (mpirun) started the agents: they are the job's ranks >= 1,
 *                 running dgcn_launch_job_enter; nothing to start, watch or stop here. */
#ifndef DGCN_COORDINATOR_LAUNCH_H
#define DGCN_COORDINATOR_LAUNCH_H

#include "comm/hub.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct dgcn_launch_opts {
    const char *address; /* the hub's address as agents reach it (port resolved) */
    int32_t n_agents;    /* M */
    uint64_t run_id;
    int deadline_ms;             /* bound on every wait of the agents (> 0) */
    const char *program;         /* processes: the dgcn binary (NULL: /proc/self/exe) */
    volatile sig_atomic_t *stop; /* tasks: set by a signal handler, ends the agents' runs */
    int workers;                 /* tasks: worker threads (<= 0: one per core) */
    const dgcn_hub *hub;  /* processes: the hub whose agent keys (tcp) the children get, or NULL */
    const char *keys_dir; /* processes over tcp: writes KEYS_DIR/keys/agent-K.key; NULL: none */
    const char *by_hand;  /* processes: agents started by hand, "K,..." or "all" (NULL: none);
                           * over tcp they need keys_dir */
} dgcn_launch_opts;

typedef struct dgcn_launch dgcn_launch;

/* Starts the agents the way `launcher` names ("tasks", "processes", "job"); the strings of o
 * are copied. DGCN_EINVAL for an unknown launcher, and for o.by_hand with a launcher other than
 * processes or naming an agent not in [0, M). */
int dgcn_launch_start(const char *launcher, const dgcn_launch_opts *o, dgcn_launch **l);

/* 1 when the agents must be told ABORT through the hub to stop early (tasks, job); 0 when
 * dgcn_launch_destroy stops them itself (processes). */
int dgcn_launch_aborts_by_message(const dgcn_launch *l);

/* Does not block: 1 if agent k has ended, with how[cap] saying how ("exited with status 1", "was
 * killed by signal 9", "ended with an error: ..."); else 0. A job's ranks are never seen to end. */
int dgcn_launch_ended(dgcn_launch *l, int32_t k, char *how, size_t cap);

/* After a run: waits up to wait_ms for every agent to end by itself (processes: then SIGTERM and,
 * 1 s later, SIGKILL). DGCN_EPEER names the first agent that did not end cleanly. */
int dgcn_launch_finish(dgcn_launch *l, int wait_ms);
/* Agent k is lost (coordinator/session.h, continue_on_loss): finish does not ask for its exit
 * status. */
void dgcn_launch_lose(dgcn_launch *l, int32_t k);
/* Kills agent k's process (SIGKILL): a loss made on purpose (coordinator/study.h, --agent-loss).
 * DGCN_EINVAL when k is no running process this launcher started (tasks, a job, by hand). */
int dgcn_launch_kill(dgcn_launch *l, int32_t k);

/* Stops what still runs (processes: SIGTERM, 1 s, SIGKILL; tasks: waits for them, which the hub's
 * ABORT or the deadline ends) and frees everything. Accepts NULL; sets *l to NULL. */
void dgcn_launch_destroy(dgcn_launch **l);

/* The agent side of the transport's launcher (a name or an address, dgcn_transport_lookup): for
 * "job", joins the job (mpi://: MPI_Init) and sets *n_agents = ranks - 1; on ranks >= 1 runs the
 * agent loop n_runs times (one session each), sets *is_agent = 1 and returns its status. Any other
 * launcher (and rank 0) sets *is_agent = 0 and leaves *n_agents as it is. */
int dgcn_launch_enter(const char *transport, int *argc, char ***argv, int deadline_ms, int n_runs,
                      volatile sig_atomic_t *stop, int *is_agent, int32_t *n_agents);

#endif
