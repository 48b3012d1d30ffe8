/* comm/inproc.c: agents as threads; mailboxes guarded by a mutex and a condition variable that
 * waits on CLOCK_MONOTONIC deadlines. Fabrics are reference counted; a named one (inproc://NAME)
 * sits in a process-wide registry from the hub's open until its last reference goes. */
#include "comm/inproc.h"

#include "comm/hub_int.h"
#include "comm/transport_int.h"
#include "core/error.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct s_msg {
    struct s_msg *next;
    dgcn__hdr h;  /* neighbour messages only */
    int32_t from; /* agent id of the sender (coordinator messages) */
    size_t n_bytes;
    unsigned char data[]; /* (n_bytes) */
} s_msg;

typedef struct s_queue {
    s_msg *head, *tail;
} s_queue;

typedef struct s_box {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    s_queue nb; /* neighbour messages */
    s_queue co; /* coordinator messages */
    int open;   /* an endpoint is attached */
} s_box;

struct dgcn_inproc_fabric {
    int refs;   /* the creator's, the hub's and each endpoint's; under s_reg_mu */
    char *name; /* registered as inproc://name, or NULL */
    struct dgcn_inproc_fabric *next_named; /* registry list, under s_reg_mu */
    int32_t n_agents;
    uint64_t run_id;
    int deadline_ms;
    int n_init;   /* boxes whose mutex/cv were initialised */
    s_box *boxes; /* [n_agents + 1]; the last is the coordinator's */
};

typedef struct s_inproc {
    dgcn_transport base;
    dgcn_inproc_fabric *f;
    s_msg **parked; /* [n_neighbors] one message of the next exchange per neighbour */
    char *got;      /* [n_neighbors] */
    int connected;  /* the neighbours are set (opened with some, or connect) */
} s_inproc;

typedef struct s_inproc_hub {
    dgcn_hub base;
    dgcn_inproc_fabric *f;
} s_inproc_hub;

static void s_push(s_queue *q, s_msg *m) {
    m->next = NULL;
    if (q->tail) q->tail->next = m;
    else q->head = m;
    q->tail = m;
}

static s_msg *s_pop(s_queue *q) {
    s_msg *m = q->head;
    if (m) {
        q->head = m->next;
        if (!q->head) q->tail = NULL;
    }
    return m;
}

static void s_drain(s_queue *q) {
    s_msg *m;
    while ((m = s_pop(q))) free(m);
}

static s_msg *s_msg_new(const void *data, size_t n_bytes) {
    s_msg *m = malloc(sizeof *m + (n_bytes ? n_bytes : 1));
    if (!m) return NULL;
    memset(m, 0, sizeof *m);
    m->n_bytes = n_bytes;
    if (n_bytes) memcpy(m->data, data, n_bytes);
    return m;
}

static void s_post(s_box *b, s_queue *q, s_msg *m) {
    pthread_mutex_lock(&b->mu);
    s_push(q, m);
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Waits on b->cv until the absolute deadline; returns 0 if woken, ETIMEDOUT otherwise. */
static int s_wait(s_box *b, const struct timespec *deadline) {
    int e = pthread_cond_timedwait(&b->cv, &b->mu, deadline);
    return e == ETIMEDOUT ? ETIMEDOUT : 0;
}

static pthread_mutex_t s_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static dgcn_inproc_fabric *s_named; /* fabrics with a name, under s_reg_mu */

static void s_free_fabric(dgcn_inproc_fabric *f) {
    for (int i = 0; i < f->n_init; i++) {
        s_drain(&f->boxes[i].nb);
        s_drain(&f->boxes[i].co);
        pthread_cond_destroy(&f->boxes[i].cv);
        pthread_mutex_destroy(&f->boxes[i].mu);
    }
    free(f->boxes);
    free(f->name);
    free(f);
}

static void s_ref(dgcn_inproc_fabric *f) {
    pthread_mutex_lock(&s_reg_mu);
    f->refs++;
    pthread_mutex_unlock(&s_reg_mu);
}

/* Drops one reference; the last one unregisters and frees the fabric. */
static void s_unref(dgcn_inproc_fabric *f) {
    pthread_mutex_lock(&s_reg_mu);
    int last = --f->refs == 0;
    if (last && f->name)
        for (dgcn_inproc_fabric **q = &s_named; *q; q = &(*q)->next_named)
            if (*q == f) {
                *q = f->next_named;
                break;
            }
    pthread_mutex_unlock(&s_reg_mu);
    if (last) s_free_fabric(f);
}

void dgcn_inproc_fabric_destroy(dgcn_inproc_fabric **fp) {
    if (!fp || !*fp) return;
    s_unref(*fp);
    *fp = NULL;
}

int dgcn_inproc_fabric_new(int32_t n_agents, uint64_t run_id, int deadline_ms,
                           dgcn_inproc_fabric **out) {
    int rc = DGCN_OK;
    dgcn_inproc_fabric *f = NULL;
    *out = NULL;
    if (n_agents <= 0 || deadline_ms <= 0)
        return dgcn_error_set(DGCN_EINVAL,
                              "inproc fabric: need n_agents > 0 and deadline > 0 (got %d, %d ms)",
                              n_agents, deadline_ms);
    DGCN_ALLOC(f, 1);
    f->refs = 1;
    f->n_agents = n_agents;
    f->run_id = run_id;
    f->deadline_ms = deadline_ms;
    DGCN_ALLOC(f->boxes, (size_t)n_agents + 1);
    for (int i = 0; i <= n_agents; i++) {
        pthread_condattr_t ca;
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        int e1 = pthread_mutex_init(&f->boxes[i].mu, NULL);
        int e2 = e1 ? 0 : pthread_cond_init(&f->boxes[i].cv, &ca);
        pthread_condattr_destroy(&ca);
        if (e1 || e2) {
            if (!e1) pthread_mutex_destroy(&f->boxes[i].mu);
            rc = dgcn_error_set(DGCN_ENOMEM, "inproc fabric: cannot create mailbox %d", i);
            goto fail;
        }
        f->n_init = i + 1;
    }
    *out = f;
    return DGCN_OK;
fail:
    dgcn_inproc_fabric_destroy(&f);
    return rc;
}

/* ---- agent endpoint ---- */

static int s_send_neighbors(s_inproc *p, const dgcn_exchange *x) {
    dgcn_transport *t = &p->base;
    for (int i = 0; i < t->n_neighbors; i++) {
        size_t nb = (size_t)x->send_len[i] * sizeof(float);
        s_msg *m = s_msg_new(x->send[i], nb);
        if (!m)
            return dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory sending %zu bytes", t->self,
                                  nb);
        m->h = dgcn__make_hdr(t, x, i);
        m->from = t->self;
        s_post(&p->f->boxes[t->neighbors[i]], &p->f->boxes[t->neighbors[i]].nb, m);
        dgcn__count_send(t, i, x->channel, x->send_len[i]);
    }
    return DGCN_OK;
}

/* Routes m; takes ownership of m (parks it or frees it). */
static int s_take(s_inproc *p, const dgcn_exchange *x, s_msg *m) {
    int ahead = 0, slot = -1;
    int rc = dgcn__route(&p->base, x, &m->h, m->data, m->n_bytes, p->got, &ahead, &slot);
    if (rc == DGCN_OK && ahead) {
        if (p->parked[slot]) {
            rc = dgcn_error_set(DGCN_EPROTO,
                                "agent %d, iteration %ld, layer %d, channel %s: neighbour %d is "
                                "more than one exchange ahead",
                                p->base.self, (long)x->iter, x->layer,
                                dgcn_channel_name(x->channel), m->h.sender);
        } else {
            p->parked[slot] = m;
            return DGCN_OK;
        }
    }
    free(m);
    return rc;
}

static int s_count(const char *got, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += got[i] != 0;
    return c;
}

static int s_exchange(dgcn_transport *t, const dgcn_exchange *x) {
    s_inproc *p = (s_inproc *)t;
    int rc = dgcn__check_exchange(t, x);
    if (rc) return rc;
    rc = s_send_neighbors(p, x);
    if (rc) return rc;
    int n = t->n_neighbors, have = 0;
    for (int i = 0; i < n; i++) p->got[i] = 0;
    for (int i = 0; i < n; i++) {
        if (!p->parked[i]) continue;
        s_msg *m = p->parked[i];
        p->parked[i] = NULL;
        rc = s_take(p, x, m);
        if (rc) return rc;
    }
    have = s_count(p->got, n);
    s_box *b = &p->f->boxes[t->self];
    struct timespec dl = dgcn__deadline_after(t->deadline_ms);
    pthread_mutex_lock(&b->mu);
    while (have < n) {
        s_msg *m = s_pop(&b->nb);
        if (m) {
            rc = s_take(p, x, m);
            if (rc) break;
            have = s_count(p->got, n);
            continue;
        }
        if (s_wait(b, &dl) == ETIMEDOUT && !b->nb.head) {
            rc = dgcn__timeout(t, x, p->got, t->deadline_ms);
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return rc;
}

static int s_send_coord(dgcn_transport *t, const void *buf, size_t len) {
    s_inproc *p = (s_inproc *)t;
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: coordinator message of %zu bytes exceeds %zu",
                              t->self, len, DGCN_COORD_MAX_BYTES);
    s_msg *m = s_msg_new(buf, len);
    if (!m) return dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory (%zu bytes)", t->self, len);
    m->from = t->self;
    s_box *hb = &p->f->boxes[p->f->n_agents];
    s_post(hb, &hb->co, m);
    dgcn__count_send(t, -1, DGCN_CH_CONTROL, (int32_t)((len + 3) / 4));
    return DGCN_OK;
}

/* Pops one coordinator message from box b within deadline_ms. */
static int s_recv_co(s_box *b, int deadline_ms, s_msg **out) {
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    pthread_mutex_lock(&b->mu);
    s_msg *m = NULL;
    for (;;) {
        m = s_pop(&b->co);
        if (m || s_wait(b, &dl) == ETIMEDOUT) break;
    }
    if (!m) m = s_pop(&b->co);
    pthread_mutex_unlock(&b->mu);
    *out = m;
    return m ? DGCN_OK : DGCN_ETIMEDOUT;
}

static int s_recv_coord(dgcn_transport *t, void **buf, size_t *len, int deadline_ms) {
    s_inproc *p = (s_inproc *)t;
    s_msg *m = NULL;
    if (deadline_ms < 0) deadline_ms = t->deadline_ms;
    *buf = NULL;
    *len = 0;
    if (s_recv_co(&p->f->boxes[t->self], deadline_ms, &m) != DGCN_OK)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "agent %d: no message from the coordinator within %d ms (channel "
                              "control)",
                              t->self, deadline_ms);
    void *out = malloc(m->n_bytes ? m->n_bytes : 1);
    if (!out) {
        free(m);
        return dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory", t->self);
    }
    if (m->n_bytes) memcpy(out, m->data, m->n_bytes);
    *buf = out;
    *len = m->n_bytes;
    free(m);
    return DGCN_OK;
}

static void s_close(dgcn_transport **tp) {
    if (!tp || !*tp) return;
    s_inproc *p = (s_inproc *)*tp;
    if (p->parked)
        for (int i = 0; i < p->base.n_neighbors; i++) free(p->parked[i]);
    s_box *b = &p->f->boxes[p->base.self];
    pthread_mutex_lock(&b->mu);
    b->open = 0;
    pthread_mutex_unlock(&b->mu);
    free(p->parked);
    free(p->got);
    dgcn__transport_fini(&p->base);
    s_unref(p->f);
    free(p);
    *tp = NULL;
}

/* The mesh is the fabric: connecting only sets the neighbours (the addresses are ignored). */
static int s_connect(dgcn_transport *t, const int32_t *neighbors, const char *const *addresses,
                     int32_t n) {
    int rc = DGCN_OK;
    s_inproc *p = (s_inproc *)t;
    s_msg **parked = NULL;
    char *got = NULL;
    if (p->connected)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: neighbours already set", t->self);
    DGCN_ALLOC(parked, n);
    DGCN_ALLOC(got, n);
    DGCN_CHECK(dgcn__transport_set_neighbors(t, neighbors, n));
    free(p->parked); /* empty: nothing is parked before the first exchange */
    free(p->got);
    p->parked = parked;
    p->got = got;
    p->connected = 1;
    return DGCN_OK;
fail:
    free(parked);
    free(got);
    return rc;
}

static const dgcn_transport_ops s_ops = {
    .name = "inproc",
    .bind = dgcn__bind_none,
    .connect = s_connect,
    .exchange = s_exchange,
    .send_coord = s_send_coord,
    .recv_coord = s_recv_coord,
    .close = s_close,
};

static int s_open(dgcn_inproc_fabric *f, int32_t agent, const int32_t *neighbors,
                  int32_t n_neighbors, int deadline_ms, dgcn_transport **out) {
    int rc = DGCN_OK;
    s_inproc *p = NULL;
    *out = NULL;
    if (!f) return dgcn_error_set(DGCN_EINVAL, "inproc: NULL fabric");
    if (agent < 0 || agent >= f->n_agents)
        return dgcn_error_set(DGCN_EINVAL, "inproc: agent %d is not in [0, %d)", agent,
                              f->n_agents);
    DGCN_ALLOC(p, 1);
    DGCN_CHECK(dgcn__transport_init(&p->base, &s_ops, agent, f->n_agents, neighbors, n_neighbors,
                                    f->run_id, deadline_ms));
    DGCN_ALLOC(p->parked, n_neighbors);
    DGCN_ALLOC(p->got, n_neighbors);
    p->connected = n_neighbors > 0;
    s_box *b = &f->boxes[agent];
    pthread_mutex_lock(&b->mu);
    int busy = b->open;
    b->open = 1;
    pthread_mutex_unlock(&b->mu);
    if (busy) {
        rc = dgcn_error_set(DGCN_EINVAL, "inproc: agent %d is already open", agent);
        goto fail;
    }
    s_ref(f);
    p->f = f;
    *out = &p->base;
    return DGCN_OK;
fail:
    if (p) {
        free(p->parked);
        free(p->got);
        dgcn__transport_fini(&p->base);
        free(p);
    }
    return rc;
}

int dgcn_inproc_open(dgcn_inproc_fabric *f, int32_t agent, const int32_t *neighbors,
                     int32_t n_neighbors, dgcn_transport **out) {
    *out = NULL;
    if (!f) return dgcn_error_set(DGCN_EINVAL, "inproc: NULL fabric");
    return s_open(f, agent, neighbors, n_neighbors, f->deadline_ms, out);
}

int dgcn_inproc_inject(dgcn_inproc_fabric *f, int32_t to, uint64_t run_id, int32_t sender,
                       int channel, int64_t iter, int32_t layer, const float *payload, int32_t n) {
    if (!f || to < 0 || to >= f->n_agents || n < 0 || (n > 0 && !payload))
        return dgcn_error_set(DGCN_EINVAL, "inproc inject: bad arguments (to %d, n %d)", to, n);
    s_msg *m = s_msg_new(payload, (size_t)n * sizeof(float));
    if (!m) return dgcn_error_set(DGCN_ENOMEM, "inproc inject: out of memory");
    m->h.run_id = run_id;
    m->h.sender = sender;
    m->h.channel = channel;
    m->h.iter = iter;
    m->h.layer = layer;
    m->h.length = n;
    m->from = sender;
    s_post(&f->boxes[to], &f->boxes[to].nb, m);
    return DGCN_OK;
}

/* ---- coordinator endpoint ---- */

static int s_hub_send(dgcn_hub *h, int32_t agent, const void *buf, size_t len) {
    s_inproc_hub *p = (s_inproc_hub *)h;
    int rc = dgcn__hub_check_agent(h, agent);
    if (rc) return rc;
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "hub: message of %zu bytes to agent %d exceeds %zu", len,
                              agent, DGCN_COORD_MAX_BYTES);
    s_msg *m = s_msg_new(buf, len);
    if (!m) return dgcn_error_set(DGCN_ENOMEM, "hub: out of memory (%zu bytes)", len);
    m->from = -1;
    s_post(&p->f->boxes[agent], &p->f->boxes[agent].co, m);
    h->traffic.bytes[DGCN_CH_CONTROL] += len;
    h->traffic.messages[DGCN_CH_CONTROL] += 1;
    return DGCN_OK;
}

static int s_hub_recv_any(dgcn_hub *h, int32_t *agent, void **buf, size_t *len, int deadline_ms) {
    s_inproc_hub *p = (s_inproc_hub *)h;
    s_msg *m = NULL;
    if (deadline_ms < 0) deadline_ms = h->deadline_ms;
    *buf = NULL;
    *len = 0;
    *agent = -1;
    if (s_recv_co(&p->f->boxes[p->f->n_agents], deadline_ms, &m) != DGCN_OK)
        return dgcn__hub_timeout(h, deadline_ms);
    void *out = malloc(m->n_bytes ? m->n_bytes : 1);
    if (!out) {
        free(m);
        return dgcn_error_set(DGCN_ENOMEM, "hub: out of memory");
    }
    if (m->n_bytes) memcpy(out, m->data, m->n_bytes);
    *agent = m->from;
    *buf = out;
    *len = m->n_bytes;
    dgcn__hub_heard(h, m->from);
    free(m);
    return DGCN_OK;
}

static void s_hub_close(dgcn_hub **hp) {
    if (!hp || !*hp) return;
    s_inproc_hub *p = (s_inproc_hub *)*hp;
    s_box *b = &p->f->boxes[p->f->n_agents];
    pthread_mutex_lock(&b->mu);
    b->open = 0;
    pthread_mutex_unlock(&b->mu);
    dgcn__hub_fini(&p->base);
    s_unref(p->f);
    free(p);
    *hp = NULL;
}

static const dgcn_hub_ops s_hub_ops = {"inproc", s_hub_send, s_hub_recv_any, s_hub_close};

int dgcn_inproc_hub(dgcn_inproc_fabric *f, dgcn_hub **out) {
    int rc = DGCN_OK;
    s_inproc_hub *p = NULL;
    *out = NULL;
    if (!f) return dgcn_error_set(DGCN_EINVAL, "inproc: NULL fabric");
    DGCN_ALLOC(p, 1);
    DGCN_CHECK(dgcn__hub_init(&p->base, &s_hub_ops, f->n_agents, f->run_id, f->deadline_ms));
    p->f = f;
    s_box *b = &f->boxes[f->n_agents];
    pthread_mutex_lock(&b->mu);
    int busy = b->open;
    b->open = 1;
    pthread_mutex_unlock(&b->mu);
    if (busy) {
        rc = dgcn_error_set(DGCN_EINVAL, "inproc: the coordinator endpoint is already open");
        goto fail;
    }
    s_ref(f);
    *out = &p->base;
    return DGCN_OK;
fail:
    if (p) {
        dgcn__hub_fini(&p->base);
        free(p);
    }
    return rc;
}

/* ---- the inproc:// scheme ---- */

#define S_PREFIX "inproc://"

/* Finds the fabric registered as name and takes a reference to it, or NULL. */
static dgcn_inproc_fabric *s_find_ref(const char *name) {
    pthread_mutex_lock(&s_reg_mu);
    dgcn_inproc_fabric *f = s_named;
    while (f && strcmp(f->name, name)) f = f->next_named;
    if (f) f->refs++;
    pthread_mutex_unlock(&s_reg_mu);
    return f;
}

static int s_scheme_hub_open(const char *address, int32_t n_agents, uint64_t run_id,
                             int deadline_ms, char *actual, size_t cap, dgcn_hub **h) {
    int rc = DGCN_OK;
    dgcn_inproc_fabric *f = NULL;
    const char *name = address + strlen(S_PREFIX);
    *h = NULL;
    if (!*name) return dgcn_error_set(DGCN_EINVAL, "inproc: address '%s' has no name", address);
    DGCN_CHECK(dgcn_inproc_fabric_new(n_agents, run_id, deadline_ms, &f));
    f->name = strdup(name);
    if (!f->name) DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "out of memory"));
    pthread_mutex_lock(&s_reg_mu);
    dgcn_inproc_fabric *g = s_named;
    while (g && strcmp(g->name, name)) g = g->next_named;
    if (!g) {
        f->next_named = s_named;
        s_named = f;
    }
    pthread_mutex_unlock(&s_reg_mu);
    if (g) {
        free(f->name); /* never registered */
        f->name = NULL;
        DGCN_CHECK(
            dgcn_error_set(DGCN_EINVAL, "inproc: %s is already open in this process", address));
    }
    DGCN_CHECK(dgcn_inproc_hub(f, h));
    if (actual && cap) snprintf(actual, cap, "%s", address);
fail:
    dgcn_inproc_fabric_destroy(&f); /* the hub holds its own reference */
    return rc;
}

static int s_scheme_open(const char *address, int32_t agent, int32_t n_agents, uint64_t run_id,
                         int deadline_ms, dgcn_transport **t) {
    *t = NULL;
    dgcn_inproc_fabric *f = s_find_ref(address + strlen(S_PREFIX));
    if (!f)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: no %s in this process (the coordinator's "
                              "dgcn_hub_open creates it)",
                              agent, address);
    int rc = DGCN_OK;
    if (n_agents != f->n_agents || run_id != f->run_id)
        rc = dgcn_error_set(DGCN_EINVAL,
                            "agent %d: %s is a run of %d agents with run id %016" PRIx64
                            ", not %d agents with run id %016" PRIx64,
                            agent, address, f->n_agents, f->run_id, n_agents, run_id);
    else rc = s_open(f, agent, NULL, 0, deadline_ms, t);
    s_unref(f);
    return rc;
}

static int s_name_address(const char *rundir, const char *tcp_host, char *out, size_t cap) {
    static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
    static unsigned long counter;
    pthread_mutex_lock(&mu);
    unsigned long n = ++counter;
    pthread_mutex_unlock(&mu);
    snprintf(out, cap, S_PREFIX "run-%ld-%lu", (long)getpid(), n);
    return DGCN_OK;
}

const dgcn__scheme dgcn__scheme_inproc = {
    .scheme = "inproc",
    .form = S_PREFIX "NAME",
    .kind = "inproc",
    .launcher = "threads",
    .name_address = s_name_address,
    .open = s_scheme_open,
    .hub_open = s_scheme_hub_open,
};
