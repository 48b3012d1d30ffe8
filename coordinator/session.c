/* coordinator/session.c: starting, watching and stopping the agents of one run on a backend. */
#define _GNU_SOURCE
#include "coordinator/session.h"

#include "agent/run.h"
#include "comm/inproc.h"
#include "comm/mpi_transport.h"
#include "comm/zmq_transport.h"
#include "core/error.h"
#include "core/timer.h"
#include "coordinator/rundir.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* OpenBLAS reads OPENBLAS_NUM_THREADS when it loads; an MPI agent rank is already running. */
void openblas_set_num_threads(int num_threads);

#define S_SLICE_MS 100 /* how often a wait looks at the children and the signal flag */

static volatile sig_atomic_t s_signalled = 0;

static void s_on_signal(int sig) { s_signalled = sig; }

typedef struct s_thread {
    pthread_t tid;
    int started;
    dgcn_transport *t;
    dgcn_run_agent_opts opts;
    int rc;
    char err[512];
} s_thread;

struct dgcn_session {
    dgcn_session_opts o;
    uint64_t run_id;
    dgcn_hub *hub;
    dgcn_inproc_fabric *fabric;    /* inproc */
    s_thread *threads;             /* [M] inproc */
    pid_t *pids;                   /* [M] zmq, 0 once reaped */
    int *exit_status;              /* [M] zmq wait status once reaped */
    char **endpoints;              /* [M] mesh endpoints from the hellos */
    int64_t *last_iter;            /* [M] last reported iteration, -1 none */
    int setup_done, finished;
    struct sigaction old_int, old_term;
    char coord_ep[512];
};

int dgcn_backend_parse(const char *name, dgcn_backend *out) {
    if (name && !strcmp(name, "inproc")) *out = DGCN_BACKEND_INPROC;
    else if (name && !strcmp(name, "zmq")) *out = DGCN_BACKEND_ZMQ;
    else if (name && !strcmp(name, "mpi")) *out = DGCN_BACKEND_MPI;
    else return dgcn_error_set(DGCN_EINVAL, "unknown transport '%s' (inproc|zmq|mpi)",
                               name ? name : "(null)");
    return DGCN_OK;
}

const char *dgcn_backend_name(dgcn_backend b) {
    return b == DGCN_BACKEND_INPROC ? "inproc" : b == DGCN_BACKEND_ZMQ ? "zmq" : "mpi";
}

dgcn_hub *dgcn_session_hub(dgcn_session *s) { return s->hub; }
uint64_t dgcn_session_run_id(const dgcn_session *s) { return s->run_id; }

static uint64_t s_make_run_id(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = ((uint64_t)ts.tv_sec * 1000000007u) ^ (uint64_t)ts.tv_nsec ^
                 ((uint64_t)getpid() << 40);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x ? x : 1;
}

/* ---- zmq children ---- */

static int s_spawn(dgcn_session *s, int32_t k) {
    const char *prog = s->o.program ? s->o.program : "/proc/self/exe";
    char agent[16], agents[16], run_id[32], deadline[16], bind[600];
    snprintf(agent, sizeof agent, "%d", k);
    snprintf(agents, sizeof agents, "%d", s->o.n_agents);
    snprintf(run_id, sizeof run_id, "%" PRIu64, s->run_id);
    snprintf(deadline, sizeof deadline, "%d", s->o.deadline_ms);
    if (s->o.tcp_host) snprintf(bind, sizeof bind, "tcp://%s:0", s->o.tcp_host);
    else snprintf(bind, sizeof bind, "ipc://%s/agent-%d.sock", s->o.rundir, k);
    char *argv[] = {(char *)prog, "agent", "--coordinator", s->coord_ep, "--agent", agent,
                    "--agents", agents, "--run-id", run_id, "--deadline-ms", deadline, "--bind", bind, NULL};
    pid_t pid = fork();
    if (pid < 0)
        return dgcn_error_set(DGCN_ECOMM, "cannot start agent %d: fork: %s", k, strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        signal(SIGINT, SIG_IGN); /* Ctrl-C reaches the coordinator, which stops the agents */
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv(prog, argv);
        fprintf(stderr, "dgcn: cannot exec %s for agent %d: %s\n", prog, k, strerror(errno));
        _exit(127);
    }
    s->pids[k] = pid;
    return DGCN_OK;
}

/* Reaps children that exited; returns the first one that ended before the run finished. */
static int32_t s_reap(dgcn_session *s) {
    int32_t dead = -1;
    for (int32_t k = 0; s->pids && k < s->o.n_agents; k++) {
        if (s->pids[k] <= 0) continue;
        int st = 0;
        pid_t r = waitpid(s->pids[k], &st, WNOHANG);
        if (r == s->pids[k]) {
            s->pids[k] = 0;
            s->exit_status[k] = st;
            if (dead < 0 && !s->finished) dead = k;
        }
    }
    return dead;
}

static int s_dead_error(dgcn_session *s, int32_t k) {
    int st = s->exit_status[k];
    char how[64];
    if (WIFSIGNALED(st)) snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(st));
    else snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(st));
    if (s->last_iter[k] >= 0)
        return dgcn_error_set(DGCN_EPEER, "agent %d %s (last report: iteration %" PRId64 ")", k,
                              how, s->last_iter[k]);
    return dgcn_error_set(DGCN_EPEER, "agent %d %s before its first report", k, how);
}

/* ---- inproc threads ---- */

static void *s_thread_main(void *arg) {
    s_thread *th = arg;
    th->rc = dgcn_run_agent(th->t, &th->opts);
    if (th->rc) snprintf(th->err, sizeof th->err, "%s", dgcn_error_msg());
    return NULL;
}

/* ---- start ---- */

int dgcn_session_start(dgcn_session **out, const dgcn_session_opts *o) {
    int rc = DGCN_OK;
    dgcn_session *s = NULL;
    *out = NULL;
    if (o->n_agents < 1 || o->deadline_ms <= 0)
        return dgcn_error_set(DGCN_EINVAL, "session: need at least one agent and a positive "
                              "deadline (got %d agents, %d ms)", o->n_agents, o->deadline_ms);
    DGCN_ALLOC(s, 1);
    s->o = *o;
    s->run_id = s_make_run_id();
    DGCN_ALLOC(s->endpoints, o->n_agents);
    DGCN_ALLOC(s->last_iter, o->n_agents);
    for (int32_t k = 0; k < o->n_agents; k++) s->last_iter[k] = -1;

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset(&sa.sa_mask);
    s_signalled = 0;
    sigaction(SIGINT, &sa, &s->old_int);
    sigaction(SIGTERM, &sa, &s->old_term);

    if (o->backend == DGCN_BACKEND_INPROC) {
        DGCN_CHECK(dgcn_inproc_fabric_new(o->n_agents, s->run_id, o->deadline_ms, &s->fabric));
        DGCN_CHECK(dgcn_inproc_hub(s->fabric, &s->hub));
        DGCN_ALLOC(s->threads, o->n_agents);
    } else if (o->backend == DGCN_BACKEND_ZMQ) {
        char actual[512];
        if (o->tcp_host) {
            snprintf(s->coord_ep, sizeof s->coord_ep, "tcp://%s:0", o->tcp_host);
        } else {
            if (!o->rundir) return dgcn_error_set(DGCN_EINVAL, "session: zmq over ipc needs a run directory");
            DGCN_CHECK(dgcn_rundir_make(o->rundir));
            snprintf(s->coord_ep, sizeof s->coord_ep, "ipc://%s/coord.sock", o->rundir);
            if (strlen(s->coord_ep) > 100)
                DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "session: ipc path %s is too long for a "
                                          "socket; use a shorter --out or tcp", s->coord_ep));
        }
        DGCN_CHECK(dgcn_zmq_hub_open(s->coord_ep, o->n_agents, s->run_id, o->deadline_ms, actual,
                                     sizeof actual, &s->hub));
        snprintf(s->coord_ep, sizeof s->coord_ep, "%s", actual);
        DGCN_ALLOC(s->pids, o->n_agents);
        DGCN_ALLOC(s->exit_status, o->n_agents);
        for (int32_t k = 0; k < o->n_agents; k++) DGCN_CHECK(s_spawn(s, k));
    } else {
        int rank = 0, size = 0;
        DGCN_CHECK(dgcn_mpi_rank(&rank, &size));
        if (rank != 0 || size - 1 != o->n_agents)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "session: mpi coordinator must be rank 0 of M+1 "
                                      "ranks (rank %d of %d, M = %d)", rank, size, o->n_agents));
        DGCN_CHECK(dgcn_mpi_hub_open(s->run_id, o->deadline_ms, &s->hub));
        s->run_id = s->hub->run_id;
    }
    *out = s;
    return DGCN_OK;
fail:
    dgcn_session_destroy(&s);
    return rc;
}

/* Receives one protocol message from any agent, watching the signal flag and the children. */
static int s_recv_msg(dgcn_session *s, dgcn_ctl_msg *m, int32_t *from, int deadline_ms) {
    int rc = DGCN_OK;
    memset(m, 0, sizeof *m);
    if (deadline_ms < 0) deadline_ms = s->o.deadline_ms;
    double end = dgcn_now_ms() + deadline_ms;
    for (;;) {
        if (s_signalled)
            return dgcn_error_set(DGCN_EINTR, "coordinator: interrupted by signal %d; stopping the "
                                  "agents", (int)s_signalled);
        double left = end - dgcn_now_ms();
        int slice = left < S_SLICE_MS ? (int)(left > 0 ? left : 0) : S_SLICE_MS;
        void *buf = NULL;
        size_t len = 0;
        rc = dgcn_hub_recv_any(s->hub, from, &buf, &len, slice);
        if (rc == DGCN_OK) {
            rc = dgcn_ctl_unpack(buf, len, m);
            free(buf);
            if (rc) return dgcn_error_wrap(rc, "coordinator: message from agent %d: ", *from);
            return DGCN_OK;
        }
        if (rc != DGCN_ETIMEDOUT) return rc;
        int32_t dead = s_reap(s);
        if (dead >= 0) return s_dead_error(s, dead);
        if (dgcn_now_ms() >= end) {
            char it[400] = "";
            size_t off = 0;
            double now = dgcn_now_ms();
            for (int32_t k = 0; k < s->o.n_agents && off + 64 < sizeof it; k++) {
                double h = s->hub->last_heard_ms ? s->hub->last_heard_ms[k] : -1;
                if (h >= 0 && now - h < deadline_ms) continue;
                off += (size_t)snprintf(it + off, sizeof it - off, "%sagent %d (last report: "
                                        "iteration %" PRId64 ")", off ? ", " : "", k,
                                        s->last_iter[k]);
            }
            return dgcn_error_set(DGCN_ETIMEDOUT, "coordinator: no message from any agent within "
                                  "%d ms; silent: %s", deadline_ms, off ? it : "none");
        }
    }
}

static int s_peer_error(dgcn_session *s, int32_t from, const dgcn_ctl_msg *m) {
    const dgcn_ctl_error *e = &m->u.error;
    return dgcn_error_set(DGCN_EPEER, "agent %d failed at iteration %" PRId64 " (%s): %s",
                          e->agent, e->iter, dgcn_strerror(e->code),
                          e->message ? e->message : "");
}

int dgcn_session_setup(dgcn_session *s, dgcn_ctl_setup *setups) {
    int rc = DGCN_OK;
    int32_t m = s->o.n_agents;
    char **nb_ep = NULL;
    if (s->o.backend == DGCN_BACKEND_INPROC) {
        for (int32_t k = 0; k < m; k++) {
            s_thread *th = &s->threads[k];
            DGCN_CHECK(dgcn_inproc_open(s->fabric, k, setups[k].neighbors, setups[k].n_neighbors,
                                        &th->t));
            th->opts.mesh = dgcn_run_mesh_fixed;
            th->opts.setup_deadline_ms = s->o.deadline_ms;
            th->opts.stop = &s_signalled;
            if (pthread_create(&th->tid, NULL, s_thread_main, th) != 0)
                DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "cannot start the thread of agent %d", k));
            th->started = 1;
        }
    }
    int32_t heard = 0;
    uint8_t *seen = NULL;
    DGCN_ALLOC(seen, m);
    while (heard < m) {
        dgcn_ctl_msg msg;
        int32_t from = -1;
        rc = s_recv_msg(s, &msg, &from, -1);
        if (rc) {
            free(seen);
            goto fail;
        }
        if (msg.kind == DGCN_CTL_ERROR) {
            rc = s_peer_error(s, from, &msg);
        } else if (msg.kind != DGCN_CTL_HELLO || msg.u.hello.agent != from || seen[from]) {
            rc = dgcn_error_set(DGCN_EPROTO, "coordinator: expected one hello from agent %d, got "
                                "%s", from, dgcn_ctl_kind_name(msg.kind));
        } else {
            seen[from] = 1;
            heard++;
            const char *ep = msg.u.hello.endpoint;
            s->endpoints[from] = strdup(ep ? ep : "");
            if (!s->endpoints[from]) rc = dgcn_error_set(DGCN_ENOMEM, "out of memory");
        }
        dgcn_ctl_msg_fini(&msg);
        if (rc) {
            free(seen);
            goto fail;
        }
    }
    free(seen);
    for (int32_t k = 0; k < m; k++) {
        dgcn_ctl_setup *st = &setups[k];
        st->run_id = s->run_id;
        st->agent = k;
        st->n_agents = m;
        free(nb_ep);
        nb_ep = NULL;
        DGCN_ALLOC(nb_ep, st->n_neighbors);
        for (int32_t i = 0; i < st->n_neighbors; i++) {
            int32_t t = st->neighbors[i];
            if (t < 0 || t >= m || t == k)
                DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "coordinator: agent %d's neighbour %d is "
                                          "out of range", k, t));
            nb_ep[i] = s->endpoints[t];
        }
        char **saved = st->neighbor_endpoints;
        st->neighbor_endpoints = nb_ep;
        dgcn_ctl_msg msg;
        memset(&msg, 0, sizeof msg);
        msg.kind = DGCN_CTL_SETUP;
        msg.u.setup = *st;
        void *buf = NULL;
        size_t len = 0;
        rc = dgcn_ctl_pack(&msg, &buf, &len);
        st->neighbor_endpoints = saved;
        if (rc == DGCN_OK) rc = dgcn_hub_send(s->hub, k, buf, len);
        free(buf);
        if (rc) goto fail;
    }
    s->setup_done = 1;
fail:
    free(nb_ep);
    return rc;
}

int dgcn_session_recv(dgcn_session *s, dgcn_ctl_msg *m, int deadline_ms) {
    int32_t from = -1;
    int rc = s_recv_msg(s, m, &from, deadline_ms);
    if (rc) return rc;
    if (m->kind == DGCN_CTL_REPORT && m->u.report.agent == from) {
        if (m->u.report.iter > s->last_iter[from]) s->last_iter[from] = m->u.report.iter;
        return DGCN_OK;
    }
    if (m->kind == DGCN_CTL_ERROR) rc = s_peer_error(s, from, m);
    else rc = dgcn_error_set(DGCN_EPROTO, "coordinator: unexpected %s message from agent %d",
                             dgcn_ctl_kind_name(m->kind), from);
    dgcn_ctl_msg_fini(m);
    return rc;
}

static void s_send_cmd(dgcn_session *s, int cmd) {
    dgcn_ctl_msg msg;
    memset(&msg, 0, sizeof msg);
    msg.kind = DGCN_CTL_CONTROL;
    msg.u.control.cmd = cmd;
    void *buf = NULL;
    size_t len = 0;
    if (dgcn_ctl_pack(&msg, &buf, &len) != DGCN_OK) return;
    for (int32_t k = 0; k < s->o.n_agents; k++) {
        if (s->pids && s->pids[k] <= 0) continue; /* already gone */
        if (dgcn_hub_send(s->hub, k, buf, len) != DGCN_OK) dgcn_error_clear();
    }
    free(buf);
}

/* Waits up to wait_ms for the children, then kills what remains; always reaps. */
static void s_stop_children(dgcn_session *s, int wait_ms, int term_first) {
    if (!s->pids) return;
    double end = dgcn_now_ms() + wait_ms;
    int pass = 0;
    for (;;) {
        int alive = 0;
        (void)s_reap(s);
        for (int32_t k = 0; k < s->o.n_agents; k++) alive += s->pids[k] > 0;
        if (!alive) return;
        if (dgcn_now_ms() >= end) {
            if (pass == 0 && term_first) {
                for (int32_t k = 0; k < s->o.n_agents; k++)
                    if (s->pids[k] > 0) kill(s->pids[k], SIGTERM);
                end = dgcn_now_ms() + 1000;
                pass = 1;
                continue;
            }
            for (int32_t k = 0; k < s->o.n_agents; k++)
                if (s->pids[k] > 0) {
                    kill(s->pids[k], SIGKILL);
                    int st = 0;
                    waitpid(s->pids[k], &st, 0);
                    s->pids[k] = 0;
                    s->exit_status[k] = st;
                }
            return;
        }
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

static void s_join_threads(dgcn_session *s) {
    for (int32_t k = 0; s->threads && k < s->o.n_agents; k++) {
        s_thread *th = &s->threads[k];
        if (th->started) pthread_join(th->tid, NULL);
        th->started = 0;
        dgcn_transport_close(&th->t);
    }
}

int dgcn_session_finish(dgcn_session *s) {
    int rc = DGCN_OK;
    s->finished = 1;
    s_send_cmd(s, DGCN_CMD_STOP);
    if (s->o.backend == DGCN_BACKEND_ZMQ) {
        s_stop_children(s, s->o.deadline_ms, 1);
        for (int32_t k = 0; k < s->o.n_agents; k++) {
            int st = s->exit_status[k];
            if (rc == DGCN_OK && (!WIFEXITED(st) || WEXITSTATUS(st) != 0))
                rc = dgcn_error_set(DGCN_EPEER, "agent %d did not exit cleanly after the run "
                                    "(status 0x%x)", k, st);
        }
    } else if (s->o.backend == DGCN_BACKEND_INPROC) {
        s_join_threads(s);
        for (int32_t k = 0; k < s->o.n_agents; k++)
            if (rc == DGCN_OK && s->threads[k].rc)
                rc = dgcn_error_set(DGCN_EPEER, "agent %d ended with an error: %s", k,
                                    s->threads[k].err);
    }
    return rc;
}

void dgcn_session_destroy(dgcn_session **sp) {
    if (!sp || !*sp) return;
    dgcn_session *s = *sp;
    if (!s->finished && s->hub) {
        if (s->o.backend != DGCN_BACKEND_ZMQ) s_send_cmd(s, DGCN_CMD_ABORT);
        s->finished = 1;
    }
    s_stop_children(s, 0, 1);
    s_join_threads(s);
    dgcn_hub_close(&s->hub);
    dgcn_inproc_fabric_destroy(&s->fabric);
    if (s->o.backend == DGCN_BACKEND_ZMQ && !s->o.tcp_host && s->o.rundir) {
        char path[600];
        snprintf(path, sizeof path, "%s/coord.sock", s->o.rundir);
        unlink(path);
        for (int32_t k = 0; k < s->o.n_agents; k++) {
            snprintf(path, sizeof path, "%s/agent-%d.sock", s->o.rundir, k);
            unlink(path);
        }
    }
    for (int32_t k = 0; s->endpoints && k < s->o.n_agents; k++) free(s->endpoints[k]);
    free(s->endpoints);
    free(s->threads);
    free(s->pids);
    free(s->exit_status);
    free(s->last_iter);
    sigaction(SIGINT, &s->old_int, NULL);
    sigaction(SIGTERM, &s->old_term, NULL);
    free(s);
    *sp = NULL;
}

/* ---- mpi ---- */

int dgcn_session_mpi_enter(int *argc, char ***argv, int deadline_ms, int n_runs, int *is_agent,
                           int32_t *n_agents) {
    int rc = DGCN_OK;
    *is_agent = 0;
    DGCN_CHECK(dgcn_mpi_init(argc, argv));
    int rank = 0, size = 0;
    DGCN_CHECK(dgcn_mpi_rank(&rank, &size));
    if (size < 2) return dgcn_error_set(DGCN_EINVAL, "--transport mpi needs mpirun -np M+1 (M >= 1 "
                                        "agents); this job has %d rank(s)", size);
    *n_agents = size - 1;
    if (rank == 0) return DGCN_OK;
    *is_agent = 1;
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    openblas_set_num_threads(1);
    for (int run = 0; run < n_runs && rc == DGCN_OK; run++) {
        dgcn_transport *t = NULL;
        DGCN_CHECK(dgcn_mpi_open(deadline_ms, &t));
        dgcn_run_agent_opts o;
        memset(&o, 0, sizeof o);
        o.mesh = dgcn_run_mesh_mpi;
        o.setup_deadline_ms = deadline_ms;
        o.stop = &s_signalled;
        rc = dgcn_run_agent(t, &o);
        dgcn_transport_close(&t);
    }
    if (rc == DGCN_OK) dgcn_mpi_finalize();
    return rc;
fail:
    return rc;
}

void dgcn_session_mpi_leave(void) { dgcn_mpi_finalize(); }
