/* comm/transport.c: what every backend shares: the scheme registry that opens endpoints by address,
 * channel names, endpoint bookkeeping, the checks a receiver makes on a neighbour message, byte
 * accounting and deadline arithmetic. */
#include "comm/transport_int.h"

#include "core/error.h"

#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the scheme registry ---- */

static const dgcn__scheme *const s_schemes[] = {&dgcn__scheme_inproc, &dgcn__scheme_ipc,
                                                &dgcn__scheme_tcp, &dgcn__scheme_mpi};
#define S_N_SCHEMES (sizeof s_schemes / sizeof s_schemes[0])

static const dgcn__scheme *s_joined; /* the job joined by dgcn_transport_job_join, or NULL */

/* "names: inproc, zmq, mpi; addresses: inproc://NAME, ..." from the registry. */
static void s_known(char *buf, size_t cap) {
    size_t off = 0;
    off += (size_t)snprintf(buf + off, cap - off, "names:");
    for (size_t i = 0; i < S_N_SCHEMES && off < cap; i++)
        if (s_schemes[i]->name_address)
            off += (size_t)snprintf(buf + off, cap - off, "%s %s", i ? "," : "",
                                    s_schemes[i]->kind);
    if (off < cap) off += (size_t)snprintf(buf + off, cap - off, "; addresses:");
    for (size_t i = 0; i < S_N_SCHEMES && off < cap; i++)
        off += (size_t)snprintf(buf + off, cap - off, "%s %s", i ? "," : "", s_schemes[i]->form);
}

const dgcn__scheme *dgcn__scheme_find(const char *address) {
    const char *sep = address ? strstr(address, "://") : NULL;
    for (size_t i = 0; sep && i < S_N_SCHEMES; i++) {
        size_t n = strlen(s_schemes[i]->scheme);
        if ((size_t)(sep - address) == n && !strncmp(address, s_schemes[i]->scheme, n))
            return s_schemes[i];
    }
    char known[512];
    s_known(known, sizeof known);
    if (sep)
        dgcn_error_set(DGCN_EINVAL, "unknown transport scheme '%.*s' in '%s' (%s)",
                       (int)(sep - address), address, address, known);
    else
        dgcn_error_set(DGCN_EINVAL, "unknown transport '%s' (%s)", address ? address : "(null)",
                       known);
    return NULL;
}

/* The entry a name or an address selects (a name: the first entry of that kind with a name
 * address). */
static const dgcn__scheme *s_lookup(const char *name_or_address) {
    if (name_or_address && !strstr(name_or_address, "://"))
        for (size_t i = 0; i < S_N_SCHEMES; i++)
            if (s_schemes[i]->name_address && !strcmp(name_or_address, s_schemes[i]->kind))
                return s_schemes[i];
    return dgcn__scheme_find(name_or_address);
}

int dgcn_transport_lookup(const char *name_or_address, dgcn_transport_info *info) {
    const dgcn__scheme *sc = s_lookup(name_or_address);
    if (!sc) return DGCN_EINVAL;
    if (info) {
        info->scheme = sc->scheme;
        info->kind = sc->kind;
        info->launcher = sc->launcher;
    }
    return DGCN_OK;
}

const char *dgcn_transport_kind(const char *name_or_address) {
    dgcn_transport_info info;
    if (dgcn_transport_lookup(name_or_address, &info) != DGCN_OK) {
        dgcn_error_clear();
        return "unknown";
    }
    return info.kind;
}

int dgcn_transport_address(const char *name_or_address, const char *rundir, const char *tcp_host,
                           char *out, size_t cap) {
    const dgcn__scheme *sc = s_lookup(name_or_address);
    if (!sc) return DGCN_EINVAL;
    if (strstr(name_or_address, "://")) {
        if ((size_t)snprintf(out, cap, "%s", name_or_address) >= cap)
            return dgcn_error_set(DGCN_EINVAL, "transport address '%s' is too long",
                                  name_or_address);
        return DGCN_OK;
    }
    return sc->name_address(rundir, tcp_host, out, cap);
}

int dgcn_transport_open(const char *coordinator_address, int32_t agent, int32_t n_agents,
                        uint64_t run_id, int deadline_ms, dgcn_transport **t) {
    *t = NULL;
    const dgcn__scheme *sc = dgcn__scheme_find(coordinator_address);
    if (!sc) return DGCN_EINVAL;
    return sc->open(coordinator_address, agent, n_agents, run_id, deadline_ms, t);
}

int dgcn_transport_job_join(const char *address, int *argc, char ***argv, int *rank, int *size) {
    *rank = 0;
    *size = 1;
    const dgcn__scheme *sc = dgcn__scheme_find(address);
    if (!sc) return DGCN_EINVAL;
    if (!sc->job_join) return DGCN_OK;
    int rc = sc->job_join(argc, argv, rank, size);
    if (rc == DGCN_OK) s_joined = sc;
    return rc;
}

int dgcn_transport_job_leave(void) {
    const dgcn__scheme *sc = s_joined;
    s_joined = NULL;
    return sc ? sc->job_leave() : DGCN_OK;
}

int dgcn__bind_none(dgcn_transport *t, const char *address, char *actual, size_t cap) {
    if (actual && cap) actual[0] = '\0';
    return DGCN_OK;
}

/* ---- channels and endpoint bookkeeping ---- */

const char *dgcn_channel_name(int ch) {
    switch (ch) {
    case DGCN_CH_HALO_FWD: return "halo_fwd";
    case DGCN_CH_HALO_BWD: return "halo_bwd";
    case DGCN_CH_PARAMS: return "params";
    case DGCN_CH_CONTROL: return "control";
    default: return "unknown";
    }
}

int dgcn__transport_set_neighbors(dgcn_transport *t, const int32_t *neighbors, int32_t n) {
    int rc = DGCN_OK;
    int32_t *nb = NULL;
    dgcn_traffic *pl = NULL;
    char *lost = NULL;
    if (n < 0 || (n > 0 && !neighbors))
        return dgcn_error_set(DGCN_EINVAL, "agent %d: invalid neighbour list (n = %d)", t->self, n);
    for (int32_t i = 0; i < n; i++) {
        if (neighbors[i] < 0 || neighbors[i] >= t->n_agents || neighbors[i] == t->self)
            return dgcn_error_set(DGCN_EINVAL,
                                  "agent %d: neighbour %d is not an agent id in [0, %d) other than "
                                  "itself",
                                  t->self, neighbors[i], t->n_agents);
        if (i > 0 && neighbors[i] <= neighbors[i - 1])
            return dgcn_error_set(
                DGCN_EINVAL, "agent %d: neighbours must be increasing and distinct (%d after %d)",
                t->self, neighbors[i], neighbors[i - 1]);
    }
    DGCN_ALLOC(nb, n);
    DGCN_ALLOC(pl, n);
    DGCN_ALLOC(lost, n);
    if (n > 0) memcpy(nb, neighbors, (size_t)n * sizeof *nb);
    free(t->neighbors);
    free(t->per_link);
    free(t->lost);
    t->neighbors = nb;
    t->per_link = pl;
    t->lost = lost;
    t->n_lost = 0;
    t->n_neighbors = n;
    return DGCN_OK;
fail:
    free(nb);
    free(pl);
    free(lost);
    return rc;
}

int dgcn__transport_init(dgcn_transport *t, const dgcn_transport_ops *ops, int32_t self,
                         int32_t n_agents, const int32_t *neighbors, int32_t n_neighbors,
                         uint64_t run_id, int deadline_ms) {
    if (n_agents <= 0 || self < 0 || self >= n_agents)
        return dgcn_error_set(DGCN_EINVAL, "agent id %d is not in [0, %d)", self, n_agents);
    if (deadline_ms <= 0)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: deadline must be positive (got %d ms)", self,
                              deadline_ms);
    t->ops = ops;
    t->self = self;
    t->n_agents = n_agents;
    t->run_id = run_id;
    t->deadline_ms = deadline_ms;
    memset(&t->traffic, 0, sizeof t->traffic);
    memset(&t->stall, 0, sizeof t->stall);
    t->neighbors = NULL;
    t->per_link = NULL;
    t->lost = NULL;
    t->n_lost = 0;
    t->watch_loss = 0;
    t->n_neighbors = 0;
    return dgcn__transport_set_neighbors(t, neighbors, n_neighbors);
}

void dgcn__transport_fini(dgcn_transport *t) {
    if (!t) return;
    free(t->neighbors);
    free(t->per_link);
    free(t->lost);
    t->neighbors = NULL;
    t->per_link = NULL;
    t->lost = NULL;
    t->n_neighbors = 0;
}

int dgcn__neighbor_index(const dgcn_transport *t, int32_t who) {
    int lo = 0, hi = t->n_neighbors - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->neighbors[mid] == who) return mid;
        if (t->neighbors[mid] < who) lo = mid + 1;
        else hi = mid - 1;
    }
    return -1;
}

int dgcn__check_exchange(const dgcn_transport *t, const dgcn_exchange *x) {
    if (!x) return dgcn_error_set(DGCN_EINVAL, "agent %d: NULL exchange", t->self);
    if (x->channel != DGCN_CH_HALO_FWD && x->channel != DGCN_CH_HALO_BWD &&
        x->channel != DGCN_CH_PARAMS)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d, iteration %" PRId64
                              ": channel %d cannot carry a neighbour exchange",
                              t->self, x->iter, x->channel);
    const int in_place = x->lend && t->ops->lends; /* no receive buffers needed */
    if (t->n_neighbors > 0 && (!x->send_len || !x->recv_len || !x->send ||
                               (!x->recv && !in_place) || (x->lend && !x->lent)))
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d, iteration %" PRId64 ": exchange without buffer arrays",
                              t->self, x->iter);
    for (int i = 0; i < t->n_neighbors; i++) {
        if (x->send_len[i] < 0 || x->recv_len[i] < 0 || (x->send_len[i] > 0 && !x->send[i]) ||
            (x->recv_len[i] > 0 && !in_place && !x->recv[i]))
            return dgcn_error_set(DGCN_EINVAL,
                                  "agent %d, iteration %" PRId64 ", layer %d, channel %s: bad "
                                  "buffer for neighbour %d (send %d, recv %d floats)",
                                  t->self, x->iter, x->layer, dgcn_channel_name(x->channel),
                                  t->neighbors[i], x->send_len[i], x->recv_len[i]);
    }
    return DGCN_OK;
}

dgcn__hdr dgcn__make_hdr(const dgcn_transport *t, const dgcn_exchange *x, int i) {
    dgcn__hdr h;
    memset(&h, 0, sizeof h);
    h.run_id = t->run_id;
    h.sender = t->self;
    h.channel = x->channel;
    h.iter = x->iter;
    h.layer = x->layer;
    h.length = x->send_len[i];
    return h;
}

void dgcn__count_send(dgcn_transport *t, int i, int ch, int32_t n) {
    uint64_t b = (uint64_t)n * sizeof(float);
    t->traffic.bytes[ch] += b;
    t->traffic.messages[ch] += 1;
    if (i >= 0) {
        t->per_link[i].bytes[ch] += b;
        t->per_link[i].messages[ch] += 1;
    }
}

int dgcn__route(dgcn_transport *t, const dgcn_exchange *x, const dgcn__hdr *h, const void *payload,
                size_t n_bytes, char *got, int *ahead, int *slot) {
    return dgcn__route_lend(t, x, h, payload, n_bytes, got, ahead, slot, 0);
}

int dgcn__route_lend(dgcn_transport *t, const dgcn_exchange *x, const dgcn__hdr *h,
                     const void *payload, size_t n_bytes, char *got, int *ahead, int *slot,
                     int in_place) {
    const char *chn = dgcn_channel_name(x->channel);
    *ahead = 0;
    *slot = -1;
    if (h->run_id != t->run_id)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ", layer %d, channel %s: message "
                              "from a foreign run (run id %016" PRIx64 ", expected %016" PRIx64
                              ", claimed sender %d)",
                              t->self, x->iter, x->layer, chn, h->run_id, t->run_id, h->sender);
    int i = dgcn__neighbor_index(t, h->sender);
    if (i < 0)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ", layer %d, channel %s: message "
                              "from agent %d, which is not a neighbour",
                              t->self, x->iter, x->layer, chn, h->sender);
    if (h->channel < 0 || h->channel >= DGCN_CH_COUNT || h->channel == DGCN_CH_CONTROL)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ": neighbour %d sent on invalid "
                              "channel %d",
                              t->self, x->iter, h->sender, h->channel);
    if (h->length < 0 || n_bytes != (size_t)h->length * sizeof(float))
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ": neighbour %d sent %zu payload "
                              "bytes but its header says %d floats",
                              t->self, x->iter, h->sender, n_bytes, h->length);
    if (got[i]) {
        *ahead = 1;
        *slot = i;
        return DGCN_OK;
    }
    if (h->channel != x->channel || h->iter != x->iter || h->layer != x->layer)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d: neighbour %d sent iteration %" PRId64 ", layer %d, "
                              "channel %s while iteration %" PRId64 ", layer %d, channel %s was "
                              "expected (stale or out of order)",
                              t->self, h->sender, h->iter, h->layer, dgcn_channel_name(h->channel),
                              x->iter, x->layer, chn);
    if (h->length != x->recv_len[i])
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ", layer %d, channel %s: neighbour %d "
                              "sent %d floats, expected %d",
                              t->self, x->iter, x->layer, chn, h->sender, h->length,
                              x->recv_len[i]);
    if (in_place && x->lend) x->lent[i] = payload;
    else if (n_bytes > 0) memcpy(x->recv[i], payload, n_bytes);
    got[i] = 1;
    return DGCN_OK;
}

int dgcn__timeout(dgcn_transport *t, const dgcn_exchange *x, const char *got, int waited_ms) {
    char who[512];
    size_t off = 0;
    who[0] = '\0';
    t->stall.n = 0;
    t->stall.iter = x->iter;
    t->stall.waited_ms = waited_ms;
    for (int i = 0; i < t->n_neighbors; i++)
        if (!got[i] && t->stall.n < DGCN_STALL_MAX) t->stall.who[t->stall.n++] = t->neighbors[i];
    for (int i = 0; i < t->n_neighbors && off + 16 < sizeof who; i++) {
        if (got[i]) continue;
        int w = snprintf(who + off, sizeof who - off, "%s%d", off ? ", " : "", t->neighbors[i]);
        if (w > 0) off += (size_t)w;
    }
    return dgcn_error_set(DGCN_ETIMEDOUT,
                          "agent %d: no message from neighbour(s) %s within %d ms (iteration "
                          "%" PRId64 ", layer %d, channel %s)",
                          t->self, who, waited_ms, x->iter, x->layer,
                          dgcn_channel_name(x->channel));
}

/* ---- deadlines ---- */

static volatile sig_atomic_t s_continued; /* SIGCONTs seen */
static pthread_once_t s_cont_once = PTHREAD_ONCE_INIT;

static void s_on_continue(int sig) {
    (void)sig;
    s_continued = s_continued + 1;
}

/* Counts SIGCONTs, unless the program handles SIGCONT itself. SA_RESTART: no call is cut short. */
static void s_watch_continue(void) {
    struct sigaction old;
    if (sigaction(SIGCONT, NULL, &old) != 0 || old.sa_handler != SIG_DFL) return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_continue;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGCONT, &sa, NULL);
}

unsigned dgcn__continued(void) {
    pthread_once(&s_cont_once, s_watch_continue);
    return (unsigned)s_continued;
}

int dgcn__deadline_renew(struct timespec *dl, unsigned *mark, int deadline_ms) {
    unsigned now_cont = dgcn__continued();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double over = (double)(now.tv_sec - dl->tv_sec) * 1e3 +
                  (double)(now.tv_nsec - dl->tv_nsec) * 1e-6;
    if (now_cont == *mark && over <= DGCN__STALL_MS) return 0;
    *mark = now_cont;
    *dl = dgcn__deadline_after(deadline_ms);
    return 1;
}

struct timespec dgcn__deadline_after(int deadline_ms) {
    pthread_once(&s_cont_once, s_watch_continue);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    if (deadline_ms < 0) deadline_ms = 0;
    ts.tv_sec += deadline_ms / 1000;
    ts.tv_nsec += (long)(deadline_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec += 1;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

int dgcn__ms_left(const struct timespec *deadline) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double ms = (double)(deadline->tv_sec - now.tv_sec) * 1e3 +
                (double)(deadline->tv_nsec - now.tv_nsec) * 1e-6;
    if (ms <= 0) return 0;
    return (int)(ms + 0.999);
}

void dgcn__nap(int us) {
    struct timespec ts = {us / 1000000, (long)(us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}
