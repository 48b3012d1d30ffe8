/* comm/inproc.c: agents in the coordinator's process (tasks of core/task.h, or plain threads).
 *
 * Each agent and the coordinator have a mailbox: a mutex, a wait queue (core/task.h: a waiting
 * task gives its worker to other tasks, a waiting thread blocks) and two message queues.
 * Neighbour messages need no allocation once a run is warm: an agent inside an exchange posts it
 * in its mailbox, and a neighbour whose message is the one awaited copies the payload straight
 * into the posted receive buffer (one copy); any other message (the receiver is not yet in that
 * exchange, or the header does not match and the receiver must judge it) is copied into a buffer
 * from the receiver's pool, which keeps its buffers for reuse (it grows only to the most messages
 * that ever waited at once), and copied out by the receiver's own checks (dgcn__route). A sender never waits for its receiver. Coordinator messages are
 * copied into a block of their own (they are rare). Fabrics are reference counted; a named one
 * (inproc://NAME) sits in a process-wide registry from the hub's open until its last reference
 * goes. */
#include "comm/inproc.h"

#include "comm/hub_int.h"
#include "comm/transport_int.h"
#include "core/error.h"
#include "core/task.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct s_inproc s_inproc;

typedef struct s_msg {
    struct s_msg *next;
    dgcn__hdr h;         /* neighbour messages only */
    int32_t from;        /* agent id of the sender (-1: the coordinator) */
    size_t n_bytes;      /* payload bytes */
    size_t cap;          /* pooled: bytes data can hold */
    int pooled;          /* back to the receiver's pool once taken */
    int ref;             /* a sender's lend buffer, not a copy: back to the receiver's refs */
    int held;            /* its agent reads it in place: not to be moved (widened) */
    unsigned char *data; /* the payload: pooled, its own block; ref, the sender's buffer; else
                           * the bytes below (freed once taken) */
    unsigned char own[]; /* not pooled: (n_bytes) */
} s_msg;

typedef struct s_queue {
    s_msg *head, *tail;
} s_queue;

typedef struct s_box {
    pthread_mutex_t mu;
    dgcn_waitq wq;
    s_queue nb;  /* neighbour messages */
    s_queue co;  /* coordinator messages */
    s_msg *pool; /* spare neighbour-message buffers */
    s_msg **all; /* [n_all] every pooled message and descriptor, in use or spare */
    int32_t n_all, cap_all;
    size_t max_bytes;     /* the capacity of each (the largest message pooled so far) */
    uint64_t allocations; /* allocation calls made for the pool */
    s_msg *refs;          /* spare descriptors of lent buffers */
    s_msg *held;          /* taken messages the agent reads in place until its next exchange */
    s_inproc *ep;         /* the endpoint attached (agents), or NULL */
    const dgcn_exchange *posted; /* the exchange ep is inside, or NULL */
    int open;                    /* an endpoint is attached */
} s_box;

struct dgcn_inproc_fabric {
    int refs;   /* the creator's, the hub's and each endpoint's; under s_reg_mu */
    char *name; /* registered as inproc://name, or NULL */
    struct dgcn_inproc_fabric *next_named; /* registry list, under s_reg_mu */
    int32_t n_agents;
    uint64_t run_id;
    int deadline_ms;
    int n_init;              /* boxes whose mutex/wait queue were initialised */
    s_box *boxes;            /* [n_agents + 1]; the last is the coordinator's */
    pthread_mutex_t lend_mu; /* guards lend_bufs */
    float **lend_bufs;       /* [n_lend] buffers endpoints send with lend; freed with the fabric */
    int64_t n_lend, cap_lend;
};

struct s_inproc {
    dgcn_transport base;
    dgcn_inproc_fabric *f;
    char *got;     /* [n_neighbors] delivered in the current exchange; under the own box's mu */
    char *ahead;   /* [n_neighbors] scratch: a next-exchange message seen in this scan */
    int connected; /* the neighbours are set (opened with some, or connect) */
};

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

static void s_msg_free(s_msg *m) {
    if (m && m->pooled) free(m->data);
    free(m);
}

/* Empties q, freeing the messages of their own (pooled ones and descriptors are registered). */
static void s_drain(s_queue *q) {
    s_msg *m;
    while ((m = s_pop(q)))
        if (!m->pooled && !m->ref) free(m); /* the others are in their box's registry */
}

/* A message holding a copy of data in a block of its own. */
static s_msg *s_msg_new(const void *data, size_t n_bytes) {
    s_msg *m = malloc(sizeof *m + (n_bytes ? n_bytes : 1));
    if (!m) return NULL;
    memset(m, 0, sizeof *m);
    m->n_bytes = n_bytes;
    m->data = m->own;
    if (n_bytes) memcpy(m->data, data, n_bytes);
    return m;
}

/* Grows every buffer of b's pool (b->mu held), queued ones too (their bytes stay), to n_bytes. */
static int s_pool_widen(s_box *b, size_t n_bytes) {
    if (n_bytes <= b->max_bytes) return DGCN_OK;
    for (int32_t i = 0; i < b->n_all; i++) {
        if (!b->all[i]->pooled || b->all[i]->held) continue; /* held: widened when released */
        b->allocations++;
        unsigned char *d = realloc(b->all[i]->data, n_bytes);
        if (!d) return DGCN_ENOMEM;
        b->all[i]->data = d;
        b->all[i]->cap = n_bytes;
    }
    b->max_bytes = n_bytes;
    return DGCN_OK;
}

/* A new message of b's (b->mu held), zeroed and registered in b->all, which frees it with the
 * fabric; NULL when out of memory. */
static s_msg *s_msg_add(s_box *b) {
    if (b->n_all == b->cap_all) {
        int32_t cap = b->cap_all ? 2 * b->cap_all : 8;
        b->allocations++;
        s_msg **all = realloc(b->all, (size_t)cap * sizeof *all);
        if (!all) return NULL;
        b->all = all;
        b->cap_all = cap;
    }
    b->allocations++;
    s_msg *m = calloc(1, sizeof *m);
    if (m) b->all[b->n_all++] = m;
    return m;
}

/* A message from b's pool (b->mu held) with room for n_bytes; NULL when out of memory. The pool
 * grows only when it has no spare buffer, so it holds the most messages that ever waited in the
 * mailbox at once: at most two per neighbour (a neighbour's message for exchange k, and for k + 1
 * once it has the receiver's own k message; it sends k + 2 only after the receiver's k + 1, which
 * the receiver sends after taking k). Every buffer is as long as the longest message that has
 * come through the pool, so a message always fits one. */
static s_msg *s_pool_get(s_box *b, size_t n_bytes) {
    if (s_pool_widen(b, n_bytes) != DGCN_OK) return NULL;
    if (!b->pool) {
        s_msg *m = s_msg_add(b);
        if (!m) return NULL;
        b->allocations++;
        if (!(m->data = malloc(b->max_bytes ? b->max_bytes : 1))) return NULL; /* m unused */
        m->pooled = 1;
        m->cap = b->max_bytes;
        b->pool = m;
    }
    s_msg *m = b->pool;
    b->pool = m->next;
    m->n_bytes = n_bytes;
    return m;
}

/* A taken message goes back to the pool or the spare descriptors of b (its receiver's box, b->mu
 * held), or is freed. */
static void s_recycle(s_box *b, s_msg *m) {
    if (m->ref) {
        m->next = b->refs;
        b->refs = m;
    } else if (m->pooled) {
        m->next = b->pool;
        b->pool = m;
    } else {
        free(m);
    }
}

/* A descriptor of a lent buffer from b's spares (b->mu held); NULL when out of memory. There are
 * at most two per neighbour at a time, as for pooled messages. */
static s_msg *s_ref_get(s_box *b) {
    if (!b->refs) {
        s_msg *m = s_msg_add(b);
        if (!m) return NULL;
        m->ref = 1;
        b->refs = m;
    }
    s_msg *m = b->refs;
    b->refs = m->next;
    return m;
}

/* The messages b's agent read in place during its last exchange go back (b->mu held). */
static void s_release_held(s_box *b) {
    while (b->held) {
        s_msg *m = b->held;
        b->held = m->next;
        m->held = 0;
        if (m->pooled && m->cap < b->max_bytes) { /* skipped by a widening meanwhile */
            b->allocations++;
            unsigned char *d = realloc(m->data, b->max_bytes);
            if (!d) { /* out of the pool for good; freed with the fabric */
                continue;
            }
            m->data = d;
            m->cap = b->max_bytes;
        }
        s_recycle(b, m);
    }
}

static void s_post(s_box *b, s_queue *q, s_msg *m) {
    pthread_mutex_lock(&b->mu);
    s_push(q, m);
    dgcn_waitq_wake_all(&b->wq);
    pthread_mutex_unlock(&b->mu);
}

/* Waits on b (b->mu held) until woken or the absolute deadline; ETIMEDOUT or 0. */
static int s_wait(s_box *b, const struct timespec *deadline) {
    return dgcn_waitq_wait(&b->wq, &b->mu, deadline);
}

static pthread_mutex_t s_reg_mu = PTHREAD_MUTEX_INITIALIZER;
static dgcn_inproc_fabric *s_named; /* fabrics with a name, under s_reg_mu */

static void s_free_fabric(dgcn_inproc_fabric *f) {
    for (int i = 0; i < f->n_init; i++) {
        s_drain(&f->boxes[i].nb);
        s_drain(&f->boxes[i].co);
        s_box *b = &f->boxes[i];
        for (s_msg *m = b->held, *next; m; m = next) { /* pooled and refs go below */
            next = m->next;
            if (!m->pooled && !m->ref) free(m);
        }
        for (int32_t k = 0; k < b->n_all; k++) s_msg_free(b->all[k]);
        free(b->all);
        dgcn_waitq_fini(&f->boxes[i].wq);
        pthread_mutex_destroy(&f->boxes[i].mu);
    }
    free(f->boxes);
    for (int64_t k = 0; k < f->n_lend; k++) free(f->lend_bufs[k]);
    free(f->lend_bufs);
    pthread_mutex_destroy(&f->lend_mu);
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
    pthread_mutex_init(&f->lend_mu, NULL);
    f->refs = 1;
    f->n_agents = n_agents;
    f->run_id = run_id;
    f->deadline_ms = deadline_ms;
    DGCN_ALLOC(f->boxes, (size_t)n_agents + 1);
    for (int i = 0; i <= n_agents; i++) {
        int e1 = pthread_mutex_init(&f->boxes[i].mu, NULL);
        int e2 = e1 ? 0 : dgcn_waitq_init(&f->boxes[i].wq);
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

/* Hands this endpoint's message of exchange x to neighbour i: straight to its posted exchange when
 * it awaits exactly this message (in place when both lend, else copied into its receive buffer),
 * else through its queue (a descriptor of the lent buffer, or a copy in a pooled buffer). */
static int s_send_one(s_inproc *p, const dgcn_exchange *x, int i) {
    dgcn_transport *t = &p->base;
    s_box *rb = &p->f->boxes[t->neighbors[i]];
    size_t nb = (size_t)x->send_len[i] * sizeof(float);
    int rc = DGCN_OK;
    pthread_mutex_lock(&rb->mu);
    const dgcn_exchange *rx = rb->posted;
    s_inproc *r = rb->ep;
    int j = rx ? dgcn__neighbor_index(&r->base, t->self) : -1;
    if (j >= 0 && !r->got[j] && rx->channel == x->channel && rx->iter == x->iter &&
        rx->layer == x->layer && rx->recv_len[j] == x->send_len[i] && (x->lend || !rx->lend)) {
        if (rx->lend) rx->lent[j] = x->send[i];
        else if (nb) memcpy(rx->recv[j], x->send[i], nb);
        r->got[j] = 1;
    } else {
        s_msg *m = x->lend ? s_ref_get(rb) : s_pool_get(rb, nb);
        if (m) {
            m->h = dgcn__make_hdr(t, x, i);
            m->from = t->self;
            m->n_bytes = nb;
            if (m->ref) m->data = (unsigned char *)(uintptr_t)x->send[i];
            else if (nb) memcpy(m->data, x->send[i], nb);
            s_push(&rb->nb, m);
        } else {
            rc = dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory sending %zu bytes to %d",
                                t->self, nb, t->neighbors[i]);
        }
    }
    if (rc == DGCN_OK) dgcn_waitq_wake_all(&rb->wq);
    pthread_mutex_unlock(&rb->mu);
    if (rc == DGCN_OK) dgcn__count_send(t, i, x->channel, x->send_len[i]);
    return rc;
}

/* One pass over the own queue (own box's mu held): copies what exchange x awaits, leaves a
 * neighbour's next-exchange message queued. */
static int s_scan(s_inproc *p, const dgcn_exchange *x) {
    dgcn_transport *t = &p->base;
    s_box *b = &p->f->boxes[t->self];
    memset(p->ahead, 0, (size_t)t->n_neighbors);
    s_msg *keep_head = NULL, *keep_tail = NULL, *m;
    int rc = DGCN_OK;
    while (rc == DGCN_OK && (m = s_pop(&b->nb))) {
        int ahead = 0, slot = -1;
        rc = dgcn__route_lend(t, x, &m->h, m->data, m->n_bytes, p->got, &ahead, &slot, 1);
        if (rc == DGCN_OK && ahead) {
            if (!p->ahead[slot]) {
                p->ahead[slot] = 1;
                m->next = NULL;
                if (keep_tail) keep_tail->next = m;
                else keep_head = m;
                keep_tail = m;
                continue;
            }
            rc = dgcn_error_set(DGCN_EPROTO,
                                "agent %d, iteration %ld, layer %d, channel %s: neighbour %d is "
                                "more than one exchange ahead",
                                t->self, (long)x->iter, x->layer, dgcn_channel_name(x->channel),
                                m->h.sender);
        }
        if (rc == DGCN_OK && x->lend) { /* read in place: kept until the next exchange */
            m->held = 1;
            m->next = b->held;
            b->held = m;
        } else {
            s_recycle(b, m);
        }
    }
    if (keep_head) { /* the kept ones go back in front, in their order */
        keep_tail->next = b->nb.head;
        if (!b->nb.head) b->nb.tail = keep_tail;
        b->nb.head = keep_head;
    }
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
    int n = t->n_neighbors;
    s_box *b = &p->f->boxes[t->self];
    pthread_mutex_lock(&b->mu);
    /* a skipped link counts as delivered: what comes from it belongs to a later exchange */
    for (int i = 0; i < n; i++) p->got[i] = dgcn__skips(t, x, i);
    s_release_held(b); /* the agent is done reading what it took in place last time */
    b->posted = x;
    pthread_mutex_unlock(&b->mu);
    for (int i = 0; i < n && rc == DGCN_OK; i++)
        if (!dgcn__skips(t, x, i)) rc = s_send_one(p, x, i);
    struct timespec dl = dgcn__deadline_after(t->deadline_ms);
    unsigned mark = dgcn__continued();
    pthread_mutex_lock(&b->mu);
    for (int expired = 0; rc == DGCN_OK;) {
        rc = s_scan(p, x);
        if (rc || s_count(p->got, n) == n) break;
        if (expired) {
            rc = dgcn__timeout(t, x, p->got, t->deadline_ms);
            break;
        }
        /* one more scan after the deadline: what came still counts */
        if (s_wait(b, &dl) == ETIMEDOUT && !dgcn__deadline_renew(&dl, &mark, t->deadline_ms))
            expired = 1;
    }
    b->posted = NULL;
    t->traffic.allocations = b->allocations;
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
    unsigned mark = dgcn__continued();
    pthread_mutex_lock(&b->mu);
    s_msg *m = NULL;
    for (;;) {
        m = s_pop(&b->co);
        if (m) break;
        if (s_wait(b, &dl) == ETIMEDOUT && !dgcn__deadline_renew(&dl, &mark, deadline_ms)) break;
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
    s_box *b = &p->f->boxes[p->base.self];
    pthread_mutex_lock(&b->mu);
    b->open = 0;
    b->ep = NULL;
    b->posted = NULL;
    s_release_held(b);
    pthread_mutex_unlock(&b->mu);
    free(p->got);
    free(p->ahead);
    dgcn__transport_fini(&p->base);
    s_unref(p->f);
    free(p);
    *tp = NULL;
}

/* The per-neighbour arrays of an endpoint with n neighbours. */
static int s_alloc_links(s_inproc *p, int32_t n) {
    int rc = DGCN_OK;
    DGCN_ALLOC(p->got, n);
    DGCN_ALLOC(p->ahead, n);
fail:
    return rc;
}

/* The mesh is the fabric: connecting only sets the neighbours (the addresses are ignored). No
 * exchange runs before it, so no neighbour reads the arrays it replaces. */
static int s_connect(dgcn_transport *t, const int32_t *neighbors, const char *const *addresses,
                     int32_t n) {
    int rc = DGCN_OK;
    s_inproc *p = (s_inproc *)t;
    (void)addresses;
    if (p->connected)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: neighbours already set", t->self);
    free(p->got);
    free(p->ahead);
    p->got = p->ahead = NULL;
    DGCN_CHECK(dgcn__transport_set_neighbors(t, neighbors, n));
    DGCN_CHECK(s_alloc_links(p, n));
    p->connected = 1;
fail:
    return rc;
}

/* Lend buffers live as long as the fabric: a neighbour may read one until its own endpoint
 * closes, and the fabric outlives every endpoint. */
static float *s_lend_buffer(dgcn_transport *t, size_t n) {
    dgcn_inproc_fabric *f = ((s_inproc *)t)->f;
    float *buf = calloc(n ? n : 1, sizeof *buf);
    if (!buf) return NULL;
    pthread_mutex_lock(&f->lend_mu);
    if (f->n_lend == f->cap_lend) {
        int64_t cap = f->cap_lend ? 2 * f->cap_lend : 64;
        float **bufs = realloc(f->lend_bufs, (size_t)cap * sizeof *bufs);
        if (!bufs) {
            pthread_mutex_unlock(&f->lend_mu);
            free(buf);
            return NULL;
        }
        f->lend_bufs = bufs;
        f->cap_lend = cap;
    }
    f->lend_bufs[f->n_lend++] = buf;
    pthread_mutex_unlock(&f->lend_mu);
    return buf;
}

static const dgcn_transport_ops s_ops = {
    .name = "inproc",
    .bind = dgcn__bind_none,
    .connect = s_connect,
    .exchange = s_exchange,
    .send_coord = s_send_coord,
    .recv_coord = s_recv_coord,
    .close = s_close,
    .lends = 1,
    .lend_buffer = s_lend_buffer,
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
    DGCN_CHECK(s_alloc_links(p, n_neighbors));
    p->connected = n_neighbors > 0;
    s_box *b = &f->boxes[agent];
    pthread_mutex_lock(&b->mu);
    int busy = b->open;
    b->open = 1;
    if (!busy) b->ep = p;
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
        free(p->got);
        free(p->ahead);
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

static const dgcn_hub_ops s_hub_ops = {"inproc", s_hub_send, s_hub_recv_any, s_hub_close, NULL};

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
    .launcher = "tasks",
    .name_address = s_name_address,
    .open = s_scheme_open,
    .hub_open = s_scheme_hub_open,
};
