/* comm/curve.c: CURVE keys, their text form and key files, the per-process store, and the guard
 * (ZAP handler and handshake monitor) of a CURVE server socket. */
#define _GNU_SOURCE
#include "comm/curve_int.h"

#include "core/error.h"
#include "core/timer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_TEXT_TAG "dgcn-curve-1"
#define S_ENDPOINT_TAG " curve:"
#define S_POLL_MS 20 /* how often the guard looks at waiting requests and its stop flag */
#define S_FAILED_EVENTS                                                                            \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |                  \
     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
#define S_WATCHED_EVENTS                                                                           \
    (S_FAILED_EVENTS | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED)

/* ---- keys and their text form ---- */

int dgcn_curve_check(const char *where) {
    if (zmq_has("curve")) return DGCN_OK;
    return dgcn_error_set(
        DGCN_EUNSUPPORTED,
        "%s: tcp:// needs ZeroMQ CURVE, which this libzmq lacks (zmq_has(\"curve\") "
        "is 0: build libzmq with libsodium), or use ipc:// on one host",
        where);
}

int dgcn__curve_keypair(char *public_key, char *secret_key) {
    if (zmq_curve_keypair(public_key, secret_key) != 0)
        return dgcn_error_set(DGCN_ECOMM, "zmq_curve_keypair failed: %s",
                              zmq_strerror(zmq_errno()));
    return DGCN_OK;
}

/* 1 when s is a Z85 key: 40 characters that decode to 32 bytes. */
static int s_is_key(const char *s) {
    uint8_t bin[32];
    return strlen(s) == DGCN_CURVE_KEY_LEN && zmq_z85_decode(bin, s) != NULL;
}

int dgcn_curve_creds_format(const dgcn_curve_creds *c, char *out, size_t cap) {
    int n = snprintf(out, cap, "%s agent %d public %s secret %s coordinator %s\n", S_TEXT_TAG,
                     (int)c->agent, c->public_key, c->secret_key, c->coordinator_key);
    if (n < 0 || (size_t)n >= cap)
        return dgcn_error_set(DGCN_EINVAL, "curve keys of agent %d: %zu bytes are too few",
                              c->agent, cap);
    return DGCN_OK;
}

int dgcn_curve_creds_parse(const char *text, const char *origin, dgcn_curve_creds *c) {
    char tag[16], pub[64], sec[64], coord[64], tail[2];
    int agent = -1;
    memset(c, 0, sizeof *c);
    if (!text) return dgcn_error_set(DGCN_EFORMAT, "%s: no curve keys", origin);
    int n = sscanf(text, "%15s agent %d public %63s secret %63s coordinator %63s %1s", tag, &agent,
                   pub, sec, coord, tail);
    if (n != 5 || strcmp(tag, S_TEXT_TAG) || agent < 0)
        return dgcn_error_set(DGCN_EFORMAT,
                              "%s: curve keys are not '%s agent K public KEY secret KEY "
                              "coordinator KEY'",
                              origin, S_TEXT_TAG);
    if (!s_is_key(pub) || !s_is_key(sec) || !s_is_key(coord))
        return dgcn_error_set(DGCN_EFORMAT, "%s: a key is not 40 characters of Z85", origin);
    c->agent = agent;
    memcpy(c->public_key, pub, DGCN_CURVE_KEY_LEN + 1);
    memcpy(c->secret_key, sec, DGCN_CURVE_KEY_LEN + 1);
    memcpy(c->coordinator_key, coord, DGCN_CURVE_KEY_LEN + 1);
    return DGCN_OK;
}

int dgcn_curve_creds_write(const char *path, const dgcn_curve_creds *c) {
    char text[DGCN_CURVE_TEXT_MAX];
    int rc = dgcn_curve_creds_format(c, text, sizeof text);
    if (rc) return rc;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return dgcn_error_set(DGCN_EIO, "cannot create key file %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    ssize_t w = write(fd, text, len);
    int e = errno;
    if (close(fd) != 0 && w == (ssize_t)len) {
        w = -1;
        e = errno;
    }
    if (w != (ssize_t)len)
        return dgcn_error_set(DGCN_EIO, "cannot write key file %s: %s", path,
                              w < 0 ? strerror(e) : "short write");
    return DGCN_OK;
}

int dgcn_curve_creds_read(const char *path, dgcn_curve_creds *c) {
    char text[DGCN_CURVE_TEXT_MAX + 1];
    struct stat st;
    memset(c, 0, sizeof *c);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return dgcn_error_set(DGCN_EIO, "cannot open key file %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dgcn_error_set(DGCN_EINVAL, "key file %s is not a regular file", path);
    }
    if ((st.st_mode & 077) || st.st_uid != geteuid()) {
        close(fd);
        return dgcn_error_set(DGCN_EINVAL,
                              "key file %s has mode %04o and owner uid %d: it must belong to uid "
                              "%d and give no permission to group or others (chmod 600)",
                              path, (unsigned)(st.st_mode & 07777), (int)st.st_uid, (int)geteuid());
    }
    ssize_t n = read(fd, text, sizeof text - 1);
    int e = errno;
    close(fd);
    if (n < 0) return dgcn_error_set(DGCN_EIO, "cannot read key file %s: %s", path, strerror(e));
    if (n >= (ssize_t)sizeof text - 1)
        return dgcn_error_set(DGCN_EFORMAT, "key file %s is larger than %d bytes", path,
                              DGCN_CURVE_TEXT_MAX - 1);
    text[n] = '\0';
    return dgcn_curve_creds_parse(text, path, c);
}

/* ---- the per-process store ---- */

static pthread_mutex_t s_store_mu = PTHREAD_MUTEX_INITIALIZER;
static dgcn_curve_creds *s_store;
static size_t s_store_n, s_store_cap;

int dgcn_curve_store(const dgcn_curve_creds *c) {
    int rc = DGCN_OK;
    pthread_mutex_lock(&s_store_mu);
    size_t i = 0;
    while (i < s_store_n && s_store[i].agent != c->agent) i++;
    if (i == s_store_cap) {
        size_t cap = s_store_cap ? 2 * s_store_cap : 8;
        dgcn_curve_creds *p = realloc(s_store, cap * sizeof *p);
        if (!p) {
            rc = dgcn_error_set(DGCN_ENOMEM, "out of memory (curve key store)");
            goto done;
        }
        s_store = p;
        s_store_cap = cap;
    }
    s_store[i] = *c;
    if (i == s_store_n) s_store_n++;
done:
    pthread_mutex_unlock(&s_store_mu);
    return rc;
}

int dgcn_curve_lookup(int32_t agent, dgcn_curve_creds *c) {
    int found = 0;
    pthread_mutex_lock(&s_store_mu);
    for (size_t i = 0; i < s_store_n && !found; i++)
        if (s_store[i].agent == agent) {
            *c = s_store[i];
            found = 1;
        }
    pthread_mutex_unlock(&s_store_mu);
    if (found) return DGCN_OK;
    return dgcn_error_set(DGCN_EINVAL,
                          "agent %d: tcp:// is authenticated with CURVE keys and this process has "
                          "none for agent %d (the coordinator passes them in %s; an agent started "
                          "by hand takes --keys RUNDIR/keys/agent-%d.key)",
                          agent, agent, DGCN_CURVE_ENV, agent);
}

void dgcn_curve_forget_all(void) {
    pthread_mutex_lock(&s_store_mu);
    if (s_store) memset(s_store, 0, s_store_cap * sizeof *s_store);
    free(s_store);
    s_store = NULL;
    s_store_n = s_store_cap = 0;
    pthread_mutex_unlock(&s_store_mu);
}

int dgcn__curve_split_endpoint(const char *announced, char *addr, size_t cap, char *key) {
    const char *tag = strstr(announced, S_ENDPOINT_TAG);
    size_t alen = tag ? (size_t)(tag - announced) : strlen(announced);
    key[0] = '\0';
    if (alen >= cap) return dgcn_error_set(DGCN_EINVAL, "endpoint %s is too long", announced);
    memcpy(addr, announced, alen);
    addr[alen] = '\0';
    if (!tag) return DGCN_OK;
    const char *k = tag + strlen(S_ENDPOINT_TAG);
    if (!s_is_key(k))
        return dgcn_error_set(DGCN_EPROTO, "endpoint '%s': the key after 'curve:' is not Z85",
                              announced);
    memcpy(key, k, DGCN_CURVE_KEY_LEN + 1);
    return DGCN_OK;
}

int dgcn__curve_client(void *sock, const char *public_key, const char *secret_key,
                       const char *server_key, const char *who) {
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_key, DGCN_CURVE_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, public_key, DGCN_CURVE_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, DGCN_CURVE_KEY_LEN))
        return dgcn_error_set(DGCN_ECOMM, "%s: cannot set the CURVE client keys: %s", who,
                              zmq_strerror(zmq_errno()));
    return DGCN_OK;
}

/* ---- the guard ---- */

typedef struct s_key {
    uint8_t key[32];
    int32_t agent;
} s_key;

typedef struct s_wait {
    zmq_msg_t peer;   /* the requesting pipe's routing id on the ZAP ROUTER */
    zmq_msg_t req_id; /* the ZAP request id, echoed */
    uint8_t key[32];
    double since_ms;
} s_wait;

/* One accepted connection of the watched socket, as its monitor reports it. */
typedef struct s_conn {
    int fd;
    int done; /* a handshake outcome (success or failure) was attributed to it */
} s_conn;

struct dgcn__guard {
    void *zap;     /* ROUTER bound at inproc://zeromq.zap.01 (the guard thread's) */
    void *mon;     /* PAIR connected to the monitor of the server socket (the thread's) */
    void *watched; /* the server socket (the caller's) */
    pthread_t tid;
    int started;
    pthread_mutex_t mu; /* guards keys, n_keys, cap_keys */
    s_key *keys;
    size_t n_keys, cap_keys;
    atomic_int sealed, stop;
    atomic_uint_least64_t refused;
    s_wait *waiting; /* the thread's: requests for keys not yet admitted */
    size_t n_waiting, cap_waiting;
    s_conn *conns; /* the thread's: accepted connections still open, oldest first */
    size_t n_conns, cap_conns;
    int deadline_ms;
    char who[64];
};

/* agent id of an admitted key, or -1. */
static int32_t s_find_key(dgcn__guard *g, const uint8_t *key) {
    int32_t agent = -1;
    pthread_mutex_lock(&g->mu);
    for (size_t i = 0; i < g->n_keys && agent < 0; i++)
        if (!memcmp(g->keys[i].key, key, 32)) agent = g->keys[i].agent;
    pthread_mutex_unlock(&g->mu);
    return agent;
}

static void s_send_str(void *sock, const char *s, int more) {
    zmq_send(sock, s, strlen(s), more ? ZMQ_SNDMORE : 0);
}

/* Answers one request: 200 with user id "a<agent>" when agent >= 0, else 400. Takes peer and
 * req_id. */
static void s_reply(dgcn__guard *g, zmq_msg_t *peer, zmq_msg_t *req_id, int32_t agent) {
    char user[16] = "";
    if (agent >= 0) snprintf(user, sizeof user, "a%d", (int)agent);
    zmq_msg_send(peer, g->zap, ZMQ_SNDMORE);
    zmq_send(g->zap, "", 0, ZMQ_SNDMORE);
    s_send_str(g->zap, "1.0", 1);
    zmq_msg_send(req_id, g->zap, ZMQ_SNDMORE);
    s_send_str(g->zap, agent >= 0 ? "200" : "400", 1);
    s_send_str(g->zap, agent >= 0 ? "OK" : "key of no admitted agent", 1);
    s_send_str(g->zap, user, 1);
    zmq_send(g->zap, "", 0, 0); /* no metadata */
    zmq_msg_close(peer);
    zmq_msg_close(req_id);
}

/* Reads one ZAP request: [peer][""][version][request id][domain][address][identity][mechanism]
 * [credentials...]. A CURVE request with a 32-byte key waits (or is answered at once when the key
 * is known or the guard sealed); anything else is refused. */
static void s_on_request(dgcn__guard *g) {
    zmq_msg_t f[9];
    int n = 0, more = 1;
    while (more && n < 9) {
        zmq_msg_init(&f[n]);
        if (zmq_msg_recv(&f[n], g->zap, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&f[n]);
            break;
        }
        more = zmq_msg_more(&f[n]);
        n++;
    }
    while (more) { /* frames beyond the ninth: none in a well-formed request */
        zmq_msg_t x;
        zmq_msg_init(&x);
        if (zmq_msg_recv(&x, g->zap, ZMQ_DONTWAIT) < 0) more = 0;
        else more = zmq_msg_more(&x);
        zmq_msg_close(&x);
    }
    if (n < 4) { /* cannot even be answered */
        for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
        return;
    }
    int ok = n == 9 && zmq_msg_size(&f[2]) == 3 && !memcmp(zmq_msg_data(&f[2]), "1.0", 3) &&
             zmq_msg_size(&f[7]) == 5 && !memcmp(zmq_msg_data(&f[7]), "CURVE", 5) &&
             zmq_msg_size(&f[8]) == 32;
    s_wait w;
    memset(&w, 0, sizeof w);
    zmq_msg_init(&w.peer);
    zmq_msg_init(&w.req_id);
    zmq_msg_move(&w.peer, &f[0]);
    zmq_msg_move(&w.req_id, &f[3]);
    if (ok) memcpy(w.key, zmq_msg_data(&f[8]), 32);
    for (int i = 0; i < n; i++) zmq_msg_close(&f[i]);
    int32_t agent = ok ? s_find_key(g, w.key) : -1;
    if (!ok || agent >= 0 || atomic_load(&g->sealed)) {
        s_reply(g, &w.peer, &w.req_id, agent);
        return;
    }
    if (g->n_waiting == g->cap_waiting) {
        size_t cap = g->cap_waiting ? 2 * g->cap_waiting : 8;
        s_wait *p = realloc(g->waiting, cap * sizeof *p);
        if (!p) { /* no room to wait: refuse */
            s_reply(g, &w.peer, &w.req_id, -1);
            return;
        }
        g->waiting = p;
        g->cap_waiting = cap;
    }
    w.since_ms = dgcn_now_ms();
    g->waiting[g->n_waiting++] = w;
}

/* Answers the waiting requests whose key is now known, or whose wait is over. */
static void s_answer_waiting(dgcn__guard *g, int all) {
    size_t kept = 0;
    double now = dgcn_now_ms();
    int sealed = atomic_load(&g->sealed);
    for (size_t i = 0; i < g->n_waiting; i++) {
        s_wait *w = &g->waiting[i];
        int32_t agent = s_find_key(g, w->key);
        if (agent >= 0 || sealed || all || now - w->since_ms > g->deadline_ms) {
            s_reply(g, &w->peer, &w->req_id, agent);
            continue;
        }
        g->waiting[kept++] = *w;
    }
    g->n_waiting = kept;
}

/* The monitor reports a handshake's outcome without naming its connection, so each outcome is
 * given to the oldest accepted connection still handshaking; a failure is counted at once, and a
 * connection that closes with no outcome (raw bytes, no ZMTP greeting, a ZMTP 1.0 peer) is counted
 * when it closes. Each accepted connection is thus counted once: exactly when handshakes do not
 * overlap, and in total once every connection has closed when they do. */
static void s_on_accepted(dgcn__guard *g, int fd) {
    if (g->n_conns == g->cap_conns) {
        size_t cap = g->cap_conns ? 2 * g->cap_conns : 16;
        s_conn *p = realloc(g->conns, cap * sizeof *p);
        if (!p) return; /* untracked: its failure still counts, a silent close does not */
        g->conns = p;
        g->cap_conns = cap;
    }
    g->conns[g->n_conns++] = (s_conn){fd, 0};
}

static void s_on_outcome(dgcn__guard *g, int failed) {
    if (failed) atomic_fetch_add(&g->refused, 1);
    for (size_t i = 0; i < g->n_conns; i++)
        if (!g->conns[i].done) {
            g->conns[i].done = 1;
            return;
        }
}

static void s_on_disconnected(dgcn__guard *g, int fd) {
    size_t i = 0;
    while (i < g->n_conns && g->conns[i].fd != fd) i++;
    if (i == g->n_conns) return; /* not an accepted connection (or untracked) */
    if (!g->conns[i].done) atomic_fetch_add(&g->refused, 1);
    memmove(&g->conns[i], &g->conns[i + 1], (g->n_conns - i - 1) * sizeof *g->conns);
    g->n_conns--;
}

/* Reads one monitor event ([u16 event][u32 value], [endpoint]) and counts refused connections. */
static void s_on_event(dgcn__guard *g) {
    zmq_msg_t m;
    zmq_msg_init(&m);
    if (zmq_msg_recv(&m, g->mon, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&m);
        return;
    }
    uint16_t ev = 0;
    uint32_t value = 0;
    if (zmq_msg_size(&m) >= 6) {
        memcpy(&ev, zmq_msg_data(&m), 2);
        memcpy(&value, (char *)zmq_msg_data(&m) + 2, 4);
    }
    int more = zmq_msg_more(&m);
    zmq_msg_close(&m);
    while (more) {
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, g->mon, ZMQ_DONTWAIT) < 0) more = 0;
        else more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    if (ev & S_FAILED_EVENTS) {
        s_on_outcome(g, 1);
    } else if (ev == ZMQ_EVENT_ACCEPTED) {
        s_on_accepted(g, (int)value);
    } else if (ev == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
        s_on_outcome(g, 0);
    } else if (ev == ZMQ_EVENT_DISCONNECTED) {
        s_on_disconnected(g, (int)value);
    }
}

static void *s_guard_main(void *arg) {
    dgcn__guard *g = arg;
    while (!atomic_load(&g->stop)) {
        zmq_pollitem_t it[2] = {{g->zap, 0, ZMQ_POLLIN, 0}, {g->mon, 0, ZMQ_POLLIN, 0}};
        int r = zmq_poll(it, 2, S_POLL_MS);
        if (r < 0 && zmq_errno() == ETERM) break;
        if (r > 0 && (it[0].revents & ZMQ_POLLIN)) s_on_request(g);
        if (r > 0 && (it[1].revents & ZMQ_POLLIN)) s_on_event(g);
        if (g->n_waiting) s_answer_waiting(g, 0);
    }
    s_answer_waiting(g, 1);
    while (zmq_poll(&(zmq_pollitem_t){g->mon, 0, ZMQ_POLLIN, 0}, 1, 0) > 0) s_on_event(g);
    return NULL;
}

int dgcn__guard_start(void *ctx, void *sock, const char *secret_key, int deadline_ms,
                      const char *who, dgcn__guard **out) {
    int rc = DGCN_OK, one = 1, zero = 0;
    dgcn__guard *g = NULL;
    char mon_ep[64];
    *out = NULL;
    DGCN_CHECK(dgcn_curve_check(who));
    DGCN_ALLOC(g, 1);
    pthread_mutex_init(&g->mu, NULL);
    atomic_init(&g->sealed, 0);
    atomic_init(&g->stop, 0);
    atomic_init(&g->refused, 0);
    g->deadline_ms = deadline_ms;
    g->watched = sock;
    snprintf(g->who, sizeof g->who, "%s", who);
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, secret_key, DGCN_CURVE_KEY_LEN) ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, "dgcn", 4)) {
        rc = dgcn_error_set(DGCN_ECOMM, "%s: cannot make a CURVE server: %s", who,
                            zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* the ZAP handler is bound before the socket binds: CURVE without one admits every key */
    g->zap = zmq_socket(ctx, ZMQ_ROUTER);
    if (!g->zap || zmq_setsockopt(g->zap, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_bind(g->zap, "inproc://zeromq.zap.01") != 0) {
        rc = dgcn_error_set(DGCN_ECOMM, "%s: cannot bind the ZAP handler: %s", who,
                            zmq_strerror(zmq_errno()));
        goto fail;
    }
    snprintf(mon_ep, sizeof mon_ep, "inproc://dgcn-guard-%p", (void *)g);
    g->mon = zmq_socket(ctx, ZMQ_PAIR);
    if (!g->mon || zmq_setsockopt(g->mon, ZMQ_LINGER, &zero, sizeof zero) ||
        zmq_socket_monitor(sock, mon_ep, S_WATCHED_EVENTS) != 0 || zmq_connect(g->mon, mon_ep)) {
        rc = dgcn_error_set(DGCN_ECOMM, "%s: cannot monitor handshakes: %s", who,
                            zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* the sockets pass to the thread; pthread_create is the memory barrier libzmq asks for */
    if (pthread_create(&g->tid, NULL, s_guard_main, g) != 0) {
        rc = dgcn_error_set(DGCN_ENOMEM, "%s: cannot start the ZAP handler thread", who);
        goto fail;
    }
    g->started = 1;
    *out = g;
    return DGCN_OK;
fail:
    dgcn__guard_stop(&g);
    return rc;
}

int dgcn__guard_admit(dgcn__guard *g, const char *public_key, int32_t agent) {
    int rc = DGCN_OK;
    uint8_t bin[32];
    if (strlen(public_key) != DGCN_CURVE_KEY_LEN || !zmq_z85_decode(bin, public_key))
        return dgcn_error_set(DGCN_EPROTO, "%s: agent %d's public key is not Z85", g->who, agent);
    pthread_mutex_lock(&g->mu);
    if (g->n_keys == g->cap_keys) {
        size_t cap = g->cap_keys ? 2 * g->cap_keys : 8;
        s_key *p = realloc(g->keys, cap * sizeof *p);
        if (!p) {
            rc = dgcn_error_set(DGCN_ENOMEM, "%s: out of memory (admitted keys)", g->who);
            goto done;
        }
        g->keys = p;
        g->cap_keys = cap;
    }
    memcpy(g->keys[g->n_keys].key, bin, 32);
    g->keys[g->n_keys].agent = agent;
    g->n_keys++;
done:
    pthread_mutex_unlock(&g->mu);
    return rc;
}

void dgcn__guard_seal(dgcn__guard *g) {
    if (g) atomic_store(&g->sealed, 1);
}

uint64_t dgcn__guard_refused(const dgcn__guard *g) {
    return g ? atomic_load(&((dgcn__guard *)g)->refused) : 0;
}

void dgcn__guard_stop(dgcn__guard **gp) {
    if (!gp || !*gp) return;
    dgcn__guard *g = *gp;
    if (g->started) {
        atomic_store(&g->stop, 1);
        pthread_join(g->tid, NULL);
    }
    if (g->mon) zmq_socket_monitor(g->watched, NULL, 0);
    if (g->mon) zmq_close(g->mon);
    if (g->zap) zmq_close(g->zap);
    for (size_t i = 0; i < g->n_waiting; i++) {
        zmq_msg_close(&g->waiting[i].peer);
        zmq_msg_close(&g->waiting[i].req_id);
    }
    free(g->waiting);
    free(g->conns);
    free(g->keys);
    pthread_mutex_destroy(&g->mu);
    free(g);
    *gp = NULL;
}
