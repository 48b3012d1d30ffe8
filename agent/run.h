/* agent/run.h: the agent side of the coordinator protocol (comm/control.h).
 *
 * An agent process (or thread) owns one transport endpoint with a coordinator link and runs:
 *   1. Hello {run id, agent, mesh endpoint}            -> coordinator
 *   2. Setup {neighbours, mixing row, config, shard}   <- coordinator
 *      dgcn_transport_connect links the neighbours at the endpoints they announced; the shard
 *      comes as bytes or from a plan folder
 *   3. verify: one forward + backward at the config's initial weights (or, when the Setup carries
 *      a State of n_params floats, at its theta: dgcn verify --model); Report LOGITS (params =
 *      the (n_own, c) logits, rows in the shard's own order) and Report GRADIENT (params = g_k,
 *      traffic, phase times).
 *      train: iterations of dgcn_agent_step; at iteration 0, every eval_every and at the end an
 *      evaluation and a Report {iter, per-split sums, traffic, phase times, params if asked}.
 *      With final_mixing R > 0, R rounds of pure averaging (dgcn_agent_mix) precede the last
 *      report, so it describes the copies after they have been brought together.
 *      Between iterations a Control STOP ends the run early (with a final report), ABORT at once.
 *      With checkpoint_every N > 0, after every iteration boundary n = N, 2N, ... below the last
 *      (after that boundary's report, if any) a State {n, theta_k, optimizer state, traffic
 *      totals}: every agent at the same boundary, so the coordinator gathers a consistent cut.
 *      A Setup carrying a State resumes: the agent restores it and continues at iteration
 *      State.iter without the iteration-0 report.
 *   4. after the last report the agent waits for Control STOP (so nothing queued is lost) and
 *      returns.
 * Any failure is sent to the coordinator as Error {agent, iteration, code, message} before the
 * function returns its code; a timed-out exchange also lists the neighbours it waited for and for
 * how long, so the coordinator can name a stalled agent. */
#ifndef DGCN_AGENT_RUN_H
#define DGCN_AGENT_RUN_H

#include "agent/run_config.h"
#include "comm/control.h"
#include "comm/transport.h"
#include "nn/consensus.h"
#include "nn/gcn.h"

#include <signal.h>
#include <stdint.h>

/* Report.iter of the two verification reports. */
enum { DGCN_RUN_REPORT_LOGITS = -1, DGCN_RUN_REPORT_GRADIENT = -2 };

/* Phases in Report.phase_ms (cumulative milliseconds). */
enum {
    DGCN_RUN_PHASE_FORWARD = 0,
    DGCN_RUN_PHASE_BACKWARD = 1,
    DGCN_RUN_PHASE_CONSENSUS = 2,
    DGCN_RUN_PHASE_EVAL = 3,
    DGCN_RUN_N_PHASES = 4
};

typedef struct dgcn_run_agent_opts {
    const char *endpoint;        /* mesh endpoint bound (dgcn_transport_bind), sent in Hello */
    int setup_deadline_ms;       /* wait for Setup and for the final STOP (<= 0: endpoint's) */
    volatile sig_atomic_t *stop; /* optional: set by a signal handler, ends the run (EINTR) */
} dgcn_run_agent_opts;

/* Runs the protocol above on t (t->self is the agent id), an endpoint opened and bound but not yet
 * connected. Returns DGCN_OK after a completed run (or an early STOP), else the failure's code
 * (already reported to the coordinator when the link works). The caller keeps and closes t. */
int dgcn_run_agent(dgcn_transport *t, const dgcn_run_agent_opts *o);

#endif
