/* coordinator/session.c: starting, watching and stopping the agents of one run, on any
 * transport. */
#include "coordinator/session.h"

#include "comm/transport.h"
#include "coordinator/launch.h"
#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_SLICE_MS 100 /* how often a wait looks at the agents and the signal flag */

/* SIGINT and SIGTERM set the flag of core/signal.h; a session routes them there while it runs
 * (a command that called dgcn_signal_install keeps them routed after it). */
#define s_signalled (*dgcn_signal_flag())

struct dgcn_session {
    dgcn_session_opts o;
    uint64_t run_id;
    dgcn_hub *hub;
    dgcn_launch *launch;
    char **endpoints;   /* [M] mesh endpoints from the hellos */
    int64_t *last_iter; /* [M] last reported iteration, -1 none */
    int setup_done, finished;
    int handlers; /* SIGINT and SIGTERM are ours until destroy */
    struct sigaction old_int, old_term;
    char address[1024]; /* the hub's address as agents reach it */
};

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

/* The first agent that ended before the run finished, or -1; how[cap] says how. */
static int32_t s_ended(dgcn_session *s, char *how, size_t cap) {
    for (int32_t k = 0; s->launch && !s->finished && k < s->o.n_agents; k++)
        if (dgcn_launch_ended(s->launch, k, how, cap)) return k;
    return -1;
}

static int s_dead_error(dgcn_session *s, int32_t k, const char *how) {
    if (s->last_iter[k] >= 0)
        return dgcn_error_set(DGCN_EPEER, "agent %d %s (last report: iteration %" PRId64 ")", k,
                              how, s->last_iter[k]);
    return dgcn_error_set(DGCN_EPEER, "agent %d %s before its first report", k, how);
}

/* ---- start ---- */

int dgcn_session_start(dgcn_session **out, const dgcn_session_opts *o) {
    int rc = DGCN_OK;
    dgcn_session *s = NULL;
    dgcn_transport_info info;
    char want[1024];
    *out = NULL;
    if (o->n_agents < 1 || o->deadline_ms <= 0)
        return dgcn_error_set(DGCN_EINVAL,
                              "session: need at least one agent and a positive "
                              "deadline (got %d agents, %d ms)",
                              o->n_agents, o->deadline_ms);
    DGCN_ALLOC(s, 1);
    s->o = *o;
    s->run_id = s_make_run_id();
    DGCN_ALLOC(s->endpoints, o->n_agents);
    DGCN_ALLOC(s->last_iter, o->n_agents);
    for (int32_t k = 0; k < o->n_agents; k++) s->last_iter[k] = -1;

    sigaction(SIGINT, NULL, &s->old_int);
    sigaction(SIGTERM, NULL, &s->old_term);
    dgcn_signal_install();
    s->handlers = 1;

    DGCN_CHECK(dgcn_transport_lookup(o->transport, &info));
    DGCN_CHECK(dgcn_transport_address(o->transport, o->rundir, o->tcp_host, want, sizeof want));
    DGCN_CHECK(dgcn_hub_open(want, o->n_agents, s->run_id, o->deadline_ms, s->address,
                             sizeof s->address, &s->hub));
    s->run_id = s->hub->run_id; /* a job's hub may have its own */
    dgcn_launch_opts lo = {s->address,     o->n_agents, s->run_id,
                           o->deadline_ms, o->program,  dgcn_signal_flag()};
    DGCN_CHECK(dgcn_launch_start(info.launcher, &lo, &s->launch));
    *out = s;
    return DGCN_OK;
fail:
    dgcn_session_destroy(&s);
    return rc;
}

/* Receives one protocol message from any agent, watching the signal flag and the agents. */
static int s_recv_msg(dgcn_session *s, dgcn_ctl_msg *m, int32_t *from, int deadline_ms) {
    int rc = DGCN_OK;
    memset(m, 0, sizeof *m);
    if (deadline_ms < 0) deadline_ms = s->o.deadline_ms;
    double end = dgcn_now_ms() + deadline_ms;
    for (;;) {
        if (s_signalled)
            return dgcn_error_set(DGCN_EINTR,
                                  "coordinator: interrupted by signal %d; stopping the "
                                  "agents",
                                  (int)s_signalled);
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
        char how[640];
        int32_t dead = s_ended(s, how, sizeof how);
        if (dead >= 0) return s_dead_error(s, dead, how);
        if (dgcn_now_ms() >= end) {
            char it[400] = "";
            size_t off = 0;
            double now = dgcn_now_ms();
            for (int32_t k = 0; k < s->o.n_agents && off + 64 < sizeof it; k++) {
                double h = s->hub->last_heard_ms ? s->hub->last_heard_ms[k] : -1;
                if (h >= 0 && now - h < deadline_ms) continue;
                off += (size_t)snprintf(it + off, sizeof it - off,
                                        "%sagent %d (last report: "
                                        "iteration %" PRId64 ")",
                                        off ? ", " : "", k, s->last_iter[k]);
            }
            return dgcn_error_set(DGCN_ETIMEDOUT,
                                  "coordinator: no message from any agent within "
                                  "%d ms; silent: %s",
                                  deadline_ms, off ? it : "none");
        }
    }
}

static int s_peer_error(dgcn_session *s, int32_t from, const dgcn_ctl_msg *m) {
    const dgcn_ctl_error *e = &m->u.error;
    return dgcn_error_set(DGCN_EPEER, "agent %d failed at iteration %" PRId64 " (%s): %s", e->agent,
                          e->iter, dgcn_strerror(e->code), e->message ? e->message : "");
}

int dgcn_session_setup(dgcn_session *s, dgcn_ctl_setup *setups) {
    int rc = DGCN_OK;
    int32_t m = s->o.n_agents;
    char **nb_ep = NULL;
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
            rc = dgcn_error_set(DGCN_EPROTO,
                                "coordinator: expected one hello from agent %d, got "
                                "%s",
                                from, dgcn_ctl_kind_name(msg.kind));
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
                DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                          "coordinator: agent %d's neighbour %d is "
                                          "out of range",
                                          k, t));
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
    else
        rc = dgcn_error_set(DGCN_EPROTO, "coordinator: unexpected %s message from agent %d",
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
        char how[640];
        if (s->launch && dgcn_launch_ended(s->launch, k, how, sizeof how)) continue; /* gone */
        if (dgcn_hub_send(s->hub, k, buf, len) != DGCN_OK) dgcn_error_clear();
    }
    free(buf);
}

int dgcn_session_finish(dgcn_session *s) {
    s->finished = 1;
    s_send_cmd(s, DGCN_CMD_STOP);
    return dgcn_launch_finish(s->launch, s->o.deadline_ms);
}

void dgcn_session_destroy(dgcn_session **sp) {
    if (!sp || !*sp) return;
    dgcn_session *s = *sp;
    if (!s->finished && s->hub && s->launch) {
        if (dgcn_launch_aborts_by_message(s->launch)) s_send_cmd(s, DGCN_CMD_ABORT);
        s->finished = 1;
    }
    dgcn_launch_destroy(&s->launch);
    dgcn_hub_close(&s->hub);
    for (int32_t k = 0; s->endpoints && k < s->o.n_agents; k++) free(s->endpoints[k]);
    free(s->endpoints);
    free(s->last_iter);
    if (s->handlers) {
        sigaction(SIGINT, &s->old_int, NULL);
        sigaction(SIGTERM, &s->old_term, NULL);
    }
    free(s);
    *sp = NULL;
}

/* ---- jobs ---- */

int dgcn_session_job_enter(const char *transport, int *argc, char ***argv, int deadline_ms,
                           int n_runs, int *is_agent, int32_t *n_agents) {
    return dgcn_launch_enter(transport, argc, argv, deadline_ms, n_runs, dgcn_signal_flag(),
                             is_agent, n_agents);
}

void dgcn_session_job_leave(void) { dgcn_transport_job_leave(); }
