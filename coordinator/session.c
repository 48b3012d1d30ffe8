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

#define S_SLICE_MS 100  /* how often a wait looks at the agents and the signal flag */
#define S_STALL_MS 1000 /* a slice this much longer than asked: the coordinator was not running */

/* The coordinator waits its deadline plus this margin, agents only their deadline: an agent whose
 * neighbour has stalled times out first and has the margin to say whom it waited for. */
static int s_margin_ms(int deadline_ms) {
    int m = deadline_ms / 2;
    return m < 1000 ? 1000 : m > 10000 ? 10000 : m;
}

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
    uint8_t *lost;     /* [M] agents lost (continue_on_loss); 2: named by a neighbour's report,
                       * not yet announced */
    int32_t *found_by; /* [M] the neighbour whose report named agent k lost, or -1 */
    int32_t lost_now;  /* the agent s_recv_msg found lost, or -1 */
    int handlers;      /* SIGINT and SIGTERM are ours until destroy */
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

/* The first agent that ended before the run finished, or -1; how[cap] says how. The launcher
 * knows the processes it started; the hub knows a job's ranks on this host (mpi). */
static int32_t s_ended(dgcn_session *s, char *how, size_t cap) {
    for (int32_t k = 0; !s->finished && k < s->o.n_agents; k++)
        if (s->lost && s->lost[k]) continue;
        else if ((s->launch && dgcn_launch_ended(s->launch, k, how, cap)) ||
                 dgcn_hub_agent_ended(s->hub, k, how, cap))
            return k;
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
    DGCN_ALLOC(s->lost, o->n_agents);
    DGCN_ALLOC(s->found_by, o->n_agents);
    s->lost_now = -1;
    for (int32_t k = 0; k < o->n_agents; k++) s->last_iter[k] = -1, s->found_by[k] = -1;

    sigaction(SIGINT, NULL, &s->old_int);
    sigaction(SIGTERM, NULL, &s->old_term);
    dgcn_signal_install();
    s->handlers = 1;

    DGCN_CHECK(dgcn_transport_lookup(o->transport, &info));
    DGCN_CHECK(dgcn_transport_address(o->transport, o->rundir, o->tcp_host, want, sizeof want));
    DGCN_CHECK(dgcn_hub_open(want, o->n_agents, s->run_id, o->deadline_ms, s->address,
                             sizeof s->address, &s->hub));
    s->run_id = s->hub->run_id; /* a job's hub may have its own */
    int agent_ms = o->agent_deadline_ms > 0 && o->agent_deadline_ms < o->deadline_ms
                       ? o->agent_deadline_ms
                       : o->deadline_ms;
    dgcn_launch_opts lo = {s->address,  o->n_agents,        s->run_id,  agent_ms,
                           o->program,  dgcn_signal_flag(), o->workers, s->hub,
                           o->keys_dir, o->wait_for_agents};
    DGCN_CHECK(dgcn_launch_start(info.launcher, &lo, &s->launch));
    *out = s;
    return DGCN_OK;
fail:
    dgcn_session_destroy(&s);
    return rc;
}

/* Appends "a", "a and b" or "a, b and c" for the n agent ids in ids to buf at *off. */
static void s_list_agents(char *buf, size_t cap, size_t *off, const int32_t *ids, int32_t n) {
    for (int32_t i = 0; i < n && *off + 24 < cap; i++) {
        const char *sep = i == 0 ? "" : i + 1 == n ? " and " : ", ";
        *off += (size_t)snprintf(buf + *off, cap - *off, "%s%d", sep, ids[i]);
    }
}

/* DGCN_ETIMEDOUT naming exactly the agents that have not said Hello (hello[k] == 0); `why` says
 * how the wait ended. */
static int s_no_hello(const dgcn_session *s, const uint8_t *hello, const char *why) {
    int32_t ids[64] = {0}, n = 0, heard = 0, missing = 0;
    for (int32_t k = 0; k < s->o.n_agents; k++) {
        if (hello[k]) heard++;
        else if (missing++ < (int32_t)(sizeof ids / sizeof *ids)) ids[n++] = k;
    }
    char who[400] = "", refused[160] = "";
    size_t off = 0;
    s_list_agents(who, sizeof who, &off, ids, n);
    if (s->hub && s->hub->traffic.dropped) /* an agent started by hand with keys not the run's */
        snprintf(refused, sizeof refused,
                 "; refused meanwhile: %" PRIu64 " handshake(s) or frame(s) from no agent of the "
                 "run (an agent's --keys file not of this run?)",
                 (uint64_t)s->hub->traffic.dropped);
    return dgcn_error_set(DGCN_ETIMEDOUT,
                          "coordinator: no hello from agent(s) %s%s %s (heard from %d of %d; the "
                          "set-ups wait for every agent)%s",
                          who, missing > n || off + 24 >= sizeof who ? ", ..." : "", why,
                          (int)heard, (int)s->o.n_agents, refused);
}

/* Receives one protocol message from any agent, watching the signal flag and the agents. During
 * start-up `hello` ([M], else NULL) marks the agents that said Hello: silence then names exactly
 * the others. */
static int s_recv_msg(dgcn_session *s, dgcn_ctl_msg *m, int32_t *from, int deadline_ms,
                      const uint8_t *hello) {
    int rc = DGCN_OK;
    memset(m, 0, sizeof *m);
    if (deadline_ms < 0) deadline_ms = s->o.deadline_ms + s_margin_ms(s->o.deadline_ms);
    double end = dgcn_now_ms() + deadline_ms;
    for (;;) {
        if (s_signalled) {
            char how[640];
            int32_t dead = s_ended(s, how, sizeof how); /* e.g. mpirun ends the job for it */
            if (dead >= 0)
                return dgcn_error_set(DGCN_EINTR,
                                      "coordinator: interrupted by signal %d after agent %d %s; "
                                      "stopping the agents",
                                      (int)s_signalled, dead, how);
            return dgcn_error_set(DGCN_EINTR,
                                  "coordinator: interrupted by signal %d; stopping the "
                                  "agents",
                                  (int)s_signalled);
        }
        double before = dgcn_now_ms(), left = end - before;
        int slice = left < S_SLICE_MS ? (int)(left > 0 ? left : 0) : S_SLICE_MS;
        void *buf = NULL;
        size_t len = 0;
        rc = dgcn_hub_recv_any(s->hub, from, &buf, &len, slice);
        double took = dgcn_now_ms() - before;
        if (rc == DGCN_ETIMEDOUT && took > slice + S_STALL_MS) {
            /* the coordinator itself was stopped (SIGSTOP, Ctrl-Z, a suspended machine): that
             * time is nobody's silence. The wait starts over, so the agents (stopped with it, or
             * whose messages are still on their way) get a whole deadline again. */
            end = dgcn_now_ms() + deadline_ms;
            continue;
        }
        if (rc == DGCN_OK) {
            rc = dgcn_ctl_unpack(buf, len, m);
            free(buf);
            if (rc) return dgcn_error_wrap(rc, "coordinator: message from agent %d: ", *from);
            return DGCN_OK;
        }
        if (rc != DGCN_ETIMEDOUT) return rc;
        char how[640];
        int32_t dead = s_ended(s, how, sizeof how);
        if (dead >= 0 && s->o.continue_on_loss && s->setup_done && !hello && s->lost) {
            s->lost[dead] = 1; /* reported once, as an Error message (dgcn_session_recv) */
            s->lost_now = dead;
            m->kind = DGCN_CTL_ERROR;
            m->u.error.agent = dead;
            m->u.error.iter = s->last_iter[dead];
            m->u.error.code = DGCN_EPEER;
            m->u.error.message = strdup(how);
            dgcn_launch_lose(s->launch, dead);
            return DGCN_OK;
        }
        if (dead >= 0) return s_dead_error(s, dead, how);
        if (dgcn_now_ms() >= end && hello) {
            char why[64];
            snprintf(why, sizeof why, "within %d ms", deadline_ms);
            return s_no_hello(s, hello, why);
        }
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

/* Marks in awaited (m) the agents e waits for. */
static void s_mark_awaited(const dgcn_ctl_error *e, int32_t m, uint8_t *awaited) {
    for (int32_t i = 0; i < e->n_waiting_for; i++)
        if (e->waiting_for[i] >= 0 && e->waiting_for[i] < m) awaited[e->waiting_for[i]] = 1;
}

/* An agent timed out waiting for neighbours (first, from agent `from`; the caller keeps it).
 * Listens up to the margin for the other agents' errors, then names the stragglers: agents that
 * others waited for and that reported nothing themselves. DGCN_ETIMEDOUT naming them and who
 * waited for them since which iteration; when every awaited agent reported an error of its own,
 * the first error as DGCN_EPEER. Bounded by the margin; O(m + waits) per message and at the end
 * (the waiters of each agent are gathered once, in increasing order). */
static int s_straggler_error(dgcn_session *s, int32_t from, const dgcn_ctl_msg *first) {
    int32_t m = s->o.n_agents;
    dgcn_ctl_msg *got = calloc((size_t)m, sizeof *got);
    int32_t *ids = malloc((size_t)m * sizeof *ids);
    uint8_t *awaited_by = calloc((size_t)m, 1); /* someone's error waits for agent k */
    int64_t *wptr = calloc((size_t)m + 1, sizeof *wptr), *wfill = NULL;
    int32_t *waiters = NULL;
    const dgcn_ctl_error *e0 = &first->u.error;
    int rc;
    if (!got || !ids || !awaited_by || !wptr) {
        rc = dgcn_error_set(DGCN_ENOMEM, "out of memory naming a straggler");
        goto done;
    }
    s_mark_awaited(e0, m, awaited_by);
    awaited_by[from] = 0; /* the first reporter is told, never awaited */
    double end = dgcn_now_ms() + s_margin_ms(s->o.deadline_ms);
    for (;;) {
        int all_in = 1; /* every agent not awaited has reported or ended */
        for (int32_t k = 0; k < m && all_in; k++) {
            int awaited = k != from && awaited_by[k], told = k == from || got[k].kind;
            char how[640];
            if (!awaited && !told &&
                !(s->launch && dgcn_launch_ended(s->launch, k, how, sizeof how)))
                all_in = 0;
        }
        double left = end - dgcn_now_ms();
        if (all_in || left <= 0 || s_signalled) break;
        int32_t a = -1;
        void *buf = NULL;
        size_t len = 0;
        int got_rc = dgcn_hub_recv_any(s->hub, &a, &buf, &len,
                                       left < S_SLICE_MS ? (int)left : S_SLICE_MS);
        if (got_rc != DGCN_OK) {
            dgcn_error_clear();
            continue;
        }
        dgcn_ctl_msg msg;
        got_rc = dgcn_ctl_unpack(buf, len, &msg);
        free(buf);
        if (got_rc != DGCN_OK) {
            dgcn_error_clear();
            continue;
        }
        if (msg.kind == DGCN_CTL_ERROR && msg.u.error.agent == a && a != from && !got[a].kind) {
            got[a] = msg;
            s_mark_awaited(&got[a].u.error, m, awaited_by);
            awaited_by[from] = 0;
        } else {
            dgcn_ctl_msg_fini(&msg);
        }
    }
    /* waiters[wptr[k] .. wptr[k+1]): the agents whose error waits for k, increasing */
    for (int32_t j = 0; j < m; j++) {
        const dgcn_ctl_error *e = j == from ? e0 : got[j].kind ? &got[j].u.error : NULL;
        for (int32_t i = 0; e && i < e->n_waiting_for; i++)
            if (e->waiting_for[i] >= 0 && e->waiting_for[i] < m) wptr[e->waiting_for[i] + 1]++;
    }
    for (int32_t k = 0; k < m; k++) wptr[k + 1] += wptr[k];
    wfill = calloc((size_t)m, sizeof *wfill);
    waiters = malloc((size_t)(wptr[m] ? wptr[m] : 1) * sizeof *waiters);
    if (!wfill || !waiters) {
        rc = dgcn_error_set(DGCN_ENOMEM, "out of memory naming a straggler");
        goto done;
    }
    for (int32_t j = 0; j < m; j++) {
        const dgcn_ctl_error *e = j == from ? e0 : got[j].kind ? &got[j].u.error : NULL;
        for (int32_t i = 0; e && i < e->n_waiting_for; i++) {
            int32_t k = e->waiting_for[i];
            if (k < 0 || k >= m) continue;
            /* a list naming k twice counts j once */
            if (wfill[k] && waiters[wptr[k] + wfill[k] - 1] == j) continue;
            waiters[wptr[k] + wfill[k]++] = j;
        }
    }
    char text[1024];
    size_t off = 0;
    text[0] = '\0';
    for (int32_t k = 0; k < m && off + 200 < sizeof text; k++) {
        if (k == from || got[k].kind) continue; /* it spoke for itself */
        int32_t n = 0, waited = 0;
        int64_t lo = INT64_MAX, hi = INT64_MIN;
        for (int64_t w = wptr[k]; w < wptr[k] + wfill[k]; w++) {
            int32_t j = waiters[w];
            const dgcn_ctl_error *e = j == from ? e0 : &got[j].u.error;
            ids[n++] = j;
            lo = e->iter < lo ? e->iter : lo;
            hi = e->iter > hi ? e->iter : hi;
            waited = e->waited_ms > waited ? e->waited_ms : waited;
        }
        if (n == 0) continue;
        off += (size_t)snprintf(text + off, sizeof text - off, "%sagent %d is not responding: %s ",
                                off ? "; " : "", k, n == 1 ? "agent" : "agents");
        s_list_agents(text, sizeof text, &off, ids, n);
        if (off + 120 < sizeof text) {
            if (lo == hi)
                off += (size_t)snprintf(text + off, sizeof text - off,
                                        " waited for it at iteration %" PRId64, lo);
            else
                off += (size_t)snprintf(text + off, sizeof text - off,
                                        " waited for it at iterations %" PRId64 " to %" PRId64, lo,
                                        hi);
            off += (size_t)snprintf(text + off, sizeof text - off, " (%d ms)", waited);
        }
    }
    if (off) rc = dgcn_error_set(DGCN_ETIMEDOUT, "%s", text);
    else
        rc = dgcn_error_set(DGCN_EPEER, "agent %d failed at iteration %" PRId64 " (%s): %s",
                            e0->agent, e0->iter, dgcn_strerror(e0->code),
                            e0->message ? e0->message : "");
done:
    for (int32_t k = 0; got && k < m; k++) dgcn_ctl_msg_fini(&got[k]);
    free(got);
    free(ids);
    free(awaited_by);
    free(wptr);
    free(wfill);
    free(waiters);
    return rc;
}

static int s_peer_error(dgcn_session *s, int32_t from, const dgcn_ctl_msg *m) {
    const dgcn_ctl_error *e = &m->u.error;
    if (e->code == DGCN_ETIMEDOUT && e->n_waiting_for > 0 && e->agent == from)
        return s_straggler_error(s, from, m);
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
        rc = s_recv_msg(s, &msg, &from, -1, seen);
        if (rc) {
            free(seen);
            goto fail;
        }
        if (msg.kind == DGCN_CTL_ERROR && msg.u.error.code == DGCN_ETIMEDOUT) {
            /* an agent gave up waiting for its set-up, which waits for the silent agents */
            char why[96];
            snprintf(why, sizeof why, "before agent %d stopped waiting for its set-up",
                     (int)msg.u.error.agent);
            rc = s_no_hello(s, seen, why);
        } else if (msg.kind == DGCN_CTL_ERROR) {
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

/* continue_on_loss: an agent a neighbour's report named lost (its link closed: the process ended,
 * or stalled and stopped answering heartbeats) and not yet announced becomes an Error message in
 * m, as s_recv_msg makes one for an agent whose process ended. 0 when there is none. */
static int s_announce_found(dgcn_session *s, dgcn_ctl_msg *m) {
    for (int32_t k = 0; s->lost && k < s->o.n_agents; k++) {
        if (s->lost[k] != 2) continue;
        char how[160];
        snprintf(how, sizeof how, "went silent (its link from agent %d closed: ended or stalled)",
                 s->found_by[k]);
        s->lost[k] = 1;
        memset(m, 0, sizeof *m);
        m->kind = DGCN_CTL_ERROR;
        m->u.error.agent = k;
        m->u.error.iter = s->last_iter[k];
        m->u.error.code = DGCN_EPEER;
        m->u.error.message = strdup(how);
        dgcn_launch_lose(s->launch, k);
        return 1;
    }
    return 0;
}

int dgcn_session_kill(dgcn_session *s, int32_t k) {
    int rc = dgcn_launch_kill(s->launch, k);
    if (rc == DGCN_OK) dgcn_launch_lose(s->launch, k); /* its end is no failure of the run */
    return rc;
}

int dgcn_session_recv(dgcn_session *s, dgcn_ctl_msg *m, int deadline_ms) {
    int32_t from = -1;
    s->lost_now = -1;
    if (s->o.continue_on_loss && s->setup_done && s_announce_found(s, m)) return DGCN_OK;
    int rc = s_recv_msg(s, m, &from, deadline_ms, NULL);
    if (rc) return rc;
    if (s->lost_now >= 0) return DGCN_OK; /* an agent lost (continue_on_loss) */
    if (m->kind == DGCN_CTL_REPORT && m->u.report.agent == from) {
        if (m->u.report.iter > s->last_iter[from]) s->last_iter[from] = m->u.report.iter;
        for (int32_t i = 0; s->o.continue_on_loss && i < m->u.report.n_lost; i++) {
            int32_t k = m->u.report.lost[i];
            if (k >= 0 && k < s->o.n_agents && !s->lost[k]) s->lost[k] = 2, s->found_by[k] = from;
        }
        return DGCN_OK;
    }
    if (m->kind == DGCN_CTL_STATE && m->u.state.agent == from) return DGCN_OK;
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
    free(s->lost);
    free(s->found_by);
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
