/* coordinator/cmd_agent.c: `dgcn agent`: one agent process of a ZeroMQ run.
 *
 * Started by a coordinator's session (or by hand on another host with tcp:// endpoints): connects to
 * the coordinator, binds its mesh endpoint, then follows the protocol of agent/run.h. */
#include "agent/run.h"
#include "comm/zmq_transport.h"
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "core/error.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: dgcn agent --coordinator ENDPOINT --agent K --agents M --run-id X [--bind ENDPOINT]\n"
    "                  [--deadline-ms MS]\n"
    "\n"
    "Runs agent K of an M-agent run whose coordinator listens at ENDPOINT (ipc://PATH or\n"
    "tcp://HOST:PORT). The agent binds its neighbour mesh at --bind (default: ipc://DIR/agent-K.sock\n"
    "beside an ipc coordinator, tcp://HOSTNAME:0 for a tcp one), sends hello, receives its set-up\n"
    "(shard, neighbours, mixing weights, configuration), runs and reports. Every wait is bounded by\n"
    "--deadline-ms. Exit status 0 after a completed run.";

static volatile sig_atomic_t s_stop = 0;
static void s_on_signal(int sig) { s_stop = sig; }

int dgcn_cmd_agent(int argc, char **argv) {
    const char *coord = NULL, *bind = NULL;
    int agent = -1, agents = 0, deadline_ms = 30000;
    uint64_t run_id = 0;
    const dgcn_arg table[] = {
        {"coordinator", DGCN_ARG_STRING, &coord, "the coordinator's endpoint (required)", 1, 0},
        {"agent", DGCN_ARG_INT, &agent, "this agent's id K in [0, M) (required)", 0, 1e7},
        {"agents", DGCN_ARG_INT, &agents, "number of agents M (required)", 1, 1e7},
        {"run-id", DGCN_ARG_U64, &run_id, "the run's id (required)", 1, 0},
        {"bind", DGCN_ARG_STRING, &bind, "mesh endpoint to bind (default: derived from --coordinator)", 1, 0},
        {"deadline-ms", DGCN_ARG_INT, &deadline_ms, "bound on every wait, ms", 1, 1e9},
        DGCN_ARGS_END};
    int a = dgcn_args_parse(s_usage, table, argc, argv);
    if (a == 1) return 0;
    if (a) return 2;
    if (!coord || agent < 0 || agents < 1 || run_id == 0 || agent >= agents) {
        fprintf(stderr, "dgcn agent: --coordinator, --agent K < --agents M and --run-id are "
                        "required\n");
        return 2;
    }
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    /* SIGTERM keeps its default action: the coordinator uses it to end a failed run at once. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL); /* ends the run between iterations */

    char def_bind[1024], actual[1024];
    if (!bind) {
        if (!strncmp(coord, "ipc://", 6)) {
            const char *slash = strrchr(coord + 6, '/');
            int dir_len = slash ? (int)(slash - (coord + 6)) : 1;
            snprintf(def_bind, sizeof def_bind, "ipc://%.*s/agent-%d.sock", dir_len,
                     slash ? coord + 6 : ".", agent);
        } else {
            char host[256] = "127.0.0.1";
            const char *h = coord + 6, *colon = strrchr(h, ':');
            if (colon && (size_t)(colon - h) < sizeof host && strncmp(h, "0.0.0.0", 7) &&
                strncmp(h, "*", 1)) {
                memcpy(host, h, (size_t)(colon - h));
                host[colon - h] = '\0';
            }
            snprintf(def_bind, sizeof def_bind, "tcp://%s:0", host);
        }
        bind = def_bind;
    }
    dgcn_zmq_opts zo;
    memset(&zo, 0, sizeof zo);
    zo.agent = agent;
    zo.n_agents = agents;
    zo.run_id = run_id;
    zo.deadline_ms = deadline_ms;
    zo.coordinator = coord;
    dgcn_transport *t = NULL;
    int rc = dgcn_zmq_open(&zo, &t);
    if (rc == DGCN_OK) rc = dgcn_zmq_bind(t, bind, actual, sizeof actual);
    if (rc) {
        fprintf(stderr, "dgcn agent %d: %s: %s\n", agent, dgcn_strerror(rc), dgcn_error_msg());
        dgcn_transport_close(&t);
        return 1;
    }
    dgcn_run_agent_opts o;
    memset(&o, 0, sizeof o);
    o.endpoint = actual;
    o.mesh = dgcn_run_mesh_zmq;
    o.setup_deadline_ms = deadline_ms;
    o.stop = &s_stop;
    rc = dgcn_run_agent(t, &o);
    dgcn_transport_close(&t);
    if (!strncmp(actual, "ipc://", 6)) unlink(actual + 6);
    if (rc) {
        fprintf(stderr, "dgcn agent %d: %s: %s\n", agent, dgcn_strerror(rc), dgcn_error_msg());
        return 1;
    }
    return 0;
}
