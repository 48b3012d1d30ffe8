/* coordinator/cmd_agent.c: `dgcn agent`: one agent process of a run whose agents are processes.
 *
 * Started by a coordinator's session (or by hand on another host with tcp:// endpoints): opens its
 * endpoint at the coordinator's address, binds its mesh endpoint, then follows the protocol of
 * agent/run.h. */
#include "agent/run.h"
#include "comm/curve.h"
#include "comm/transport.h"
#include "coordinator/args.h"
#include "coordinator/commands.h"
#include "core/error.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char s_usage[] =
    "usage: dgcn agent --coordinator ENDPOINT --agent K --agents M --run-id X [--bind ENDPOINT]\n"
    "                  [--keys FILE] [--deadline-ms MS]\n"
    "\n"
    "Runs agent K of an M-agent run whose coordinator listens at ENDPOINT (ipc://PATH or\n"
    "tcp://HOST:PORT). The agent binds its neighbour mesh at --bind (default: ipc://DIR/agent-K.sock\n"
    "beside an ipc coordinator; for a tcp one tcp://ADDR:0, ADDR the address this host reaches HOST\n"
    "from, which is HOST on the coordinator's own host), sends hello, receives its set-up\n"
    "(shard, neighbours, mixing weights, configuration), runs and reports. Every wait is bounded by\n"
    "--deadline-ms. Exit status 0 after a completed run.\n"
    "\n"
    "Over tcp:// every socket is authenticated and encrypted with CURVE keys the coordinator made\n"
    "for the run: a child of the coordinator finds them in its environment (DGCN_CURVE_KEYS); an\n"
    "agent started by hand reads them from --keys RUNDIR/keys/agent-K.key, which must be mode 0600.";

/* This agent's CURVE keys, from the key file or the environment, into comm's store; the
 * environment's copy is wiped (and /proc/PID/environ with it). No keys: nothing (an ipc run). */
static int s_load_keys(const char *file, int agent) {
    dgcn_curve_creds c;
    char *env = getenv(DGCN_CURVE_ENV);
    int rc = DGCN_OK;
    if (file) rc = dgcn_curve_creds_read(file, &c);
    else if (env) rc = dgcn_curve_creds_parse(env, "environment variable " DGCN_CURVE_ENV, &c);
    else return DGCN_OK;
    if (env) memset(env, 0, strlen(env));
    unsetenv(DGCN_CURVE_ENV);
    if (rc == DGCN_OK && c.agent != agent)
        rc = dgcn_error_set(DGCN_EINVAL, "%s holds the keys of agent %d, not of agent %d",
                            file ? file : DGCN_CURVE_ENV, c.agent, agent);
    if (rc == DGCN_OK) rc = dgcn_curve_store(&c);
    memset(&c, 0, sizeof c);
    return rc;
}

/* With a tcp://HOST:PORT coordinator (HOST an IPv4 address or name, not 0.0.0.0 or *): the
 * mesh endpoint tcp://ADDR:0 on the address ADDR that this host's routes use towards HOST (on
 * the coordinator's host: HOST itself), so that an agent on another host binds where its
 * neighbours can reach it. 0 when there is none; the transport's default applies. */
static int s_bind_towards(const char *coord, char *out, size_t cap) {
    char host[256], port[16];
    if (strncmp(coord, "tcp://", 6)) return 0;
    const char *h = coord + 6, *colon = strrchr(h, ':');
    if (!colon || (size_t)(colon - h) >= sizeof host || strlen(colon + 1) >= sizeof port) return 0;
    memcpy(host, h, (size_t)(colon - h));
    host[colon - h] = '\0';
    snprintf(port, sizeof port, "%s", colon + 1);
    if (!host[0] || !strcmp(host, "0.0.0.0") || !strcmp(host, "*") || host[0] == '[') return 0;
    struct addrinfo hints, *ai = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(host, port, &hints, &ai) != 0 || !ai) return 0;
    int ok = 0, fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in me;
    socklen_t len = sizeof me;
    char addr[INET_ADDRSTRLEN];
    /* a datagram socket's connect sends nothing: it only picks the route and source address */
    if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        getsockname(fd, (struct sockaddr *)&me, &len) == 0 &&
        inet_ntop(AF_INET, &me.sin_addr, addr, sizeof addr) && me.sin_addr.s_addr != 0) {
        snprintf(out, cap, "tcp://%s:0", addr);
        ok = 1;
    }
    if (fd >= 0) close(fd);
    freeaddrinfo(ai);
    return ok;
}

static volatile sig_atomic_t s_stop = 0;
static void s_on_signal(int sig) { s_stop = sig; }

int dgcn_cmd_agent(int argc, char **argv) {
    const char *coord = NULL, *bind = NULL, *keys = NULL;
    int agent = -1, agents = 0, deadline_ms = 30000;
    uint64_t run_id = 0;
    const dgcn_arg table[] = {
        {"coordinator", DGCN_ARG_STRING, &coord, "the coordinator's endpoint (required)", 1, 0},
        {"agent", DGCN_ARG_INT, &agent, "this agent's id K in [0, M) (required)", 0, 1e7},
        {"agents", DGCN_ARG_INT, &agents, "number of agents M (required)", 1, 1e7},
        {"run-id", DGCN_ARG_U64, &run_id, "the run's id (required)", 1, 0},
        {"bind", DGCN_ARG_STRING, &bind,
         "mesh endpoint to bind (default: derived from --coordinator)", 1, 0},
        {"keys", DGCN_ARG_STRING, &keys,
         "the agent's CURVE key file (tcp; default: the environment's " DGCN_CURVE_ENV ")", 1, 0},
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

    char actual[1024], towards[64];
    if (!bind && s_bind_towards(coord, towards, sizeof towards)) bind = towards;
    dgcn_transport *t = NULL;
    int rc = s_load_keys(keys, agent);
    if (rc == DGCN_OK) rc = dgcn_transport_open(coord, agent, agents, run_id, deadline_ms, &t);
    if (rc == DGCN_OK) rc = dgcn_transport_bind(t, bind, actual, sizeof actual);
    if (rc) {
        fprintf(stderr, "dgcn agent %d: %s: %s\n", agent, dgcn_strerror(rc), dgcn_error_msg());
        dgcn_transport_close(&t);
        return 1;
    }
    dgcn_run_agent_opts o;
    memset(&o, 0, sizeof o);
    o.endpoint = actual;
    o.setup_deadline_ms = deadline_ms;
    o.stop = &s_stop;
    rc = dgcn_run_agent(t, &o);
    dgcn_transport_close(&t);
    if (rc) {
        fprintf(stderr, "dgcn agent %d: %s: %s\n", agent, dgcn_strerror(rc), dgcn_error_msg());
        return 1;
    }
    return 0;
}
