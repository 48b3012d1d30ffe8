/* comm/zmq_transport.c: agents and coordinator over ZeroMQ. Agent mesh: each agent binds a ROUTER
 * and connects one DEALER per neighbour (routing id "a<agent>"), so the receiver knows who sent a
 * frame before it looks inside and can bound its size by what it expects from that neighbour. */
#include "comm/zmq_transport.h"

#include "comm/curve_int.h"
#include "comm/hub_int.h"
#include "comm/message.pb-c.h"
#include "comm/transport_int.h"
#include "core/error.h"
#include "core/timer.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#define S_LINGER_MS 1000
#define S_LOSS_SLICE_MS 20 /* watch_loss: the monitors are read at least this often */
#define S_HDR_SLACK 128    /* protobuf bytes beyond the payload: header fields and tags */

typedef struct s_zt {
    dgcn_transport base;
    void *ctx;
    void *coord;                  /* DEALER to the hub, or NULL */
    void *mesh;                   /* ROUTER this agent bound, or NULL */
    void **out;                   /* [n_neighbors] DEALER to each neighbour */
    void **mon;                   /* [n_neighbors] PAIR reading out[i]'s disconnect events (with
                                   * watch_loss), or NULL */
    Dgcnpb__NeighborMsg **parked; /* [n_neighbors] one message of the next exchange */
    char *got;                    /* [n_neighbors] */
    size_t max_msg;
    char *coord_ep; /* the hub's endpoint connected to, or NULL */
    char *ipc_path; /* the ipc socket file the mesh bound, or NULL */
    int curve;      /* creds hold this agent's keys (needed by every tcp:// socket) */
    dgcn_curve_creds creds;
    dgcn__guard *guard;    /* of a tcp mesh: admits the neighbours' keys, or NULL */
    uint64_t refused_seen; /* the guard's refused handshakes already in traffic.dropped */
} s_zt;

typedef struct s_zhub {
    dgcn_hub base;
    void *ctx;
    void *sock;              /* ROUTER */
    char *ipc_path;          /* the ipc socket file it bound, or NULL */
    dgcn__guard *guard;      /* tcp: admits the run's agent keys, or NULL */
    dgcn_curve_creds *creds; /* tcp: [n_agents] the run's agent keys, or NULL */
    uint64_t refused_seen;   /* the guard's refused handshakes already in traffic.dropped */
} s_zhub;

static const dgcn_transport_ops s_ops;

static int s_zerr(const char *what, const char *where) {
    return dgcn_error_set(DGCN_ECOMM, "%s: %s failed: %s", where, what, zmq_strerror(zmq_errno()));
}

static void s_routing_id(char *buf, size_t cap, int32_t agent) {
    snprintf(buf, cap, "a%d", (int)agent);
}

/* zmq_poll until the deadline *dl. When this process was stopped meanwhile (SIGSTOP, Ctrl-Z of
 * the whole job, a suspended machine), that time is not the peers' silence, so *dl starts over
 * (deadline_ms from now; dgcn__deadline_renew). */
static int s_poll(zmq_pollitem_t *it, struct timespec *dl, unsigned *mark, int deadline_ms) {
    int r = zmq_poll(it, 1, dgcn__ms_left(dl));
    if (r <= 0 && dgcn__ms_left(dl) <= 0) dgcn__deadline_renew(dl, mark, deadline_ms);
    return r;
}

/* Folds the handshakes the guard refused since the last call into *dropped. */
static void s_sync_refused(const dgcn__guard *g, uint64_t *seen, uint64_t *dropped) {
    uint64_t r = dgcn__guard_refused(g);
    if (r > *seen) *dropped += r - *seen;
    if (r > *seen) *seen = r;
}

static int s_is_tcp(const char *endpoint) { return endpoint && !strncmp(endpoint, "tcp://", 6); }

/* Parses "a<agent>"; -1 when it is not one. */
static int32_t s_parse_id(const void *data, size_t n) {
    char tmp[16];
    if (n < 2 || n >= sizeof tmp || ((const char *)data)[0] != 'a') return -1;
    memcpy(tmp, data, n);
    tmp[n] = '\0';
    char *end = NULL;
    long v = strtol(tmp + 1, &end, 10);
    if (*end != '\0' || v < 0 || v > INT32_MAX) return -1;
    return (int32_t)v;
}

static int s_set_linger(void *sock, int deadline_ms) {
    int linger = deadline_ms < S_LINGER_MS ? deadline_ms : S_LINGER_MS;
    return zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
}

/* Sends msg (taking it) within the absolute deadline; flags may hold ZMQ_SNDMORE. On EHOSTUNREACH
 * (ROUTER_MANDATORY, peer not yet connected) retries until the deadline. */
static int s_send_msg(void *sock, zmq_msg_t *msg, int flags, const struct timespec *dl,
                      int *unreachable) {
    *unreachable = 0;
    for (;;) {
        if (zmq_msg_send(msg, sock, flags | ZMQ_DONTWAIT) >= 0) return DGCN_OK;
        int e = zmq_errno();
        int left = dgcn__ms_left(dl);
        if (e == EHOSTUNREACH) {
            *unreachable = 1;
            if (left <= 0) break;
            dgcn__nap(2000);
            continue;
        }
        if (e != EAGAIN && e != EINTR) {
            zmq_msg_close(msg);
            return DGCN_ECOMM;
        }
        if (left <= 0) break;
        zmq_pollitem_t it = {sock, 0, ZMQ_POLLOUT, 0};
        zmq_poll(&it, 1, left);
    }
    zmq_msg_close(msg);
    return DGCN_ETIMEDOUT;
}

/* Receives the remaining frames of a multipart message and drops them. */
static void s_drain_more(void *sock) {
    int more = 0;
    size_t sz = sizeof more;
    while (zmq_getsockopt(sock, ZMQ_RCVMORE, &more, &sz) == 0 && more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            break;
        }
        zmq_msg_close(&m);
        sz = sizeof more;
    }
}

/* Receives [identity][body] from a ROUTER that has input: *id (-1 if not "a<k>", or, on a CURVE
 * socket (curve != 0), if the routing id is not the one its key was admitted as), body in *body
 * (initialised; caller closes). */
static int s_recv_routed(void *sock, int curve, int32_t *id, zmq_msg_t *body, const char *where) {
    zmq_msg_t idm;
    zmq_msg_init(&idm);
    zmq_msg_init(body);
    if (zmq_msg_recv(&idm, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&idm);
        return s_zerr("zmq_msg_recv", where);
    }
    *id = s_parse_id(zmq_msg_data(&idm), zmq_msg_size(&idm));
    int more = zmq_msg_more(&idm);
    zmq_msg_close(&idm);
    if (!more) { /* an empty body: nothing that says who sent it */
        if (curve) *id = -1;
        return DGCN_OK;
    }
    if (zmq_msg_recv(body, sock, ZMQ_DONTWAIT) < 0) return s_zerr("zmq_msg_recv", where);
    s_drain_more(sock);
    if (curve && *id >= 0) { /* the key's agent (the guard's ZAP user id) must be the claimed one */
        char want[16];
        s_routing_id(want, sizeof want, *id);
        const char *user = zmq_msg_gets(body, "User-Id");
        if (!user || strcmp(user, want)) *id = -1;
    }
    return DGCN_OK;
}

/* ---- agent endpoint ---- */

static int s_park_or_drop(s_zt *p, const dgcn_exchange *x, Dgcnpb__NeighborMsg *m) {
    dgcn__hdr h = {m->run_id, m->sender, m->channel, m->iter, m->layer, m->length};
    int ahead = 0, slot = -1;
    int from = m->run_id == p->base.run_id ? dgcn__neighbor_index(&p->base, m->sender) : -1;
    if (from >= 0 && p->base.lost[from]) { /* sent before it was lost, still queued: dropped */
        dgcnpb__neighbor_msg__free_unpacked(m, NULL);
        return DGCN_OK;
    }
    int rc = dgcn__route(&p->base, x, &h, m->payload.data, m->payload.len, p->got, &ahead, &slot);
    if (rc == DGCN_OK && ahead) {
        if (!p->parked[slot]) {
            p->parked[slot] = m;
            return DGCN_OK;
        }
        rc = dgcn_error_set(DGCN_EPROTO,
                            "agent %d, iteration %" PRId64 ", layer %d, channel %s: neighbour %d "
                            "is more than one exchange ahead",
                            p->base.self, x->iter, x->layer, dgcn_channel_name(x->channel),
                            m->sender);
    }
    dgcnpb__neighbor_msg__free_unpacked(m, NULL);
    return rc;
}

static int s_send_neighbor(s_zt *p, const dgcn_exchange *x, int i, const struct timespec *dl) {
    dgcn_transport *t = &p->base;
    Dgcnpb__NeighborMsg m = DGCNPB__NEIGHBOR_MSG__INIT;
    m.run_id = t->run_id;
    m.sender = t->self;
    m.iter = x->iter;
    m.layer = x->layer;
    m.channel = x->channel;
    m.length = x->send_len[i];
    m.payload.len = (size_t)x->send_len[i] * sizeof(float);
    m.payload.data = (uint8_t *)(uintptr_t)x->send[i];
    size_t n = dgcnpb__neighbor_msg__get_packed_size(&m);
    zmq_msg_t z;
    if (zmq_msg_init_size(&z, n) != 0)
        return dgcn_error_set(DGCN_ENOMEM, "agent %d: cannot allocate a %zu-byte frame", t->self,
                              n);
    dgcnpb__neighbor_msg__pack(&m, zmq_msg_data(&z));
    int unreach = 0;
    int rc = s_send_msg(p->out[i], &z, 0, dl, &unreach);
    if (rc == DGCN_ETIMEDOUT)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "agent %d: could not send to neighbour %d within %d ms (iteration "
                              "%" PRId64 ", layer %d, channel %s)",
                              t->self, t->neighbors[i], t->deadline_ms, x->iter, x->layer,
                              dgcn_channel_name(x->channel));
    if (rc)
        return dgcn_error_set(DGCN_ECOMM, "agent %d: sending to neighbour %d failed: %s", t->self,
                              t->neighbors[i], zmq_strerror(zmq_errno()));
    dgcn__count_send(t, i, x->channel, x->send_len[i]);
    return DGCN_OK;
}

static int s_count(const char *got, int n) {
    int c = 0;
    for (int i = 0; i < n; i++) c += got[i] != 0;
    return c;
}

int dgcn__zmq_frame_decode(const dgcn_transport *t, const dgcn_exchange *x, int32_t id,
                           const char *got, size_t max_msg, const void *frame, size_t size,
                           Dgcnpb__NeighborMsg **out) {
    const char *chn = dgcn_channel_name(x->channel);
    int i = dgcn__neighbor_index(t, id);
    *out = NULL;
    if (i < 0)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ", layer %d, channel %s: frame from a "
                              "peer that is not a neighbour (routing id agent %d)",
                              t->self, x->iter, x->layer, chn, id);
    size_t cap = got[i] ? max_msg : (size_t)x->recv_len[i] * sizeof(float) + S_HDR_SLACK;
    if (size > cap)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ", layer %d, channel %s: frame of %zu "
                              "bytes from neighbour %d exceeds the %zu bytes expected",
                              t->self, x->iter, x->layer, chn, size, id, cap);
    Dgcnpb__NeighborMsg *m = dgcnpb__neighbor_msg__unpack(NULL, size, frame);
    if (!m)
        return dgcn_error_set(DGCN_EPROTO,
                              "agent %d, iteration %" PRId64 ", layer %d, channel %s: frame of %zu "
                              "bytes from neighbour %d is not a neighbour message",
                              t->self, x->iter, x->layer, chn, size, id);
    if (m->sender != id) {
        int rc = dgcn_error_set(DGCN_EPROTO,
                                "agent %d, iteration %" PRId64 ": frame from neighbour %d claims "
                                "sender %d",
                                t->self, x->iter, id, m->sender);
        dgcnpb__neighbor_msg__free_unpacked(m, NULL);
        return rc;
    }
    *out = m;
    return DGCN_OK;
}

/* Receives and routes one frame from the mesh socket. */
static int s_recv_one(s_zt *p, const dgcn_exchange *x) {
    dgcn_transport *t = &p->base;
    int32_t id = -1;
    zmq_msg_t body;
    int rc = s_recv_routed(p->mesh, p->guard != NULL, &id, &body, "agent mesh");
    if (rc) goto done;
    if (id < 0 || id >= t->n_agents) { /* no agent of the run: dropped and counted, not fatal */
        t->traffic.dropped++;
        goto done;
    }
    Dgcnpb__NeighborMsg *m = NULL;
    rc = dgcn__zmq_frame_decode(t, x, id, p->got, p->max_msg, zmq_msg_data(&body),
                                zmq_msg_size(&body), &m);
    if (rc) goto done;
    rc = s_park_or_drop(p, x, m);
done:
    zmq_msg_close(&body);
    return rc;
}

static int s_exchange_frames(s_zt *p, const dgcn_exchange *x);

/* watch_loss: the heartbeat interval of a link for a deadline: an eighth of it, 10 ms to 1 s. */
static int s_heartbeat_ivl(int deadline_ms) {
    int ivl = deadline_ms / 8;
    return ivl < 10 ? 10 : ivl > 1000 ? 1000 : ivl;
}

/* watch_loss: reads the disconnect events of the links to the neighbours; a neighbour whose link
 * closed (its process is gone: a killed agent's sockets close with it; or it stalled: its
 * heartbeats stopped) is lost for good, and the
 * wait of the exchange in progress for it ends. */
static void s_check_lost(s_zt *p) {
    dgcn_transport *t = &p->base;
    for (int i = 0; p->mon && i < t->n_neighbors; i++) {
        while (p->mon[i] && !t->lost[i]) {
            zmq_msg_t ev;
            zmq_msg_init(&ev);
            if (zmq_msg_recv(&ev, p->mon[i], ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&ev);
                break;
            }
            uint16_t event = 0;
            if (zmq_msg_size(&ev) >= 2) memcpy(&event, zmq_msg_data(&ev), sizeof event);
            zmq_msg_close(&ev);
            s_drain_more(p->mon[i]); /* the endpoint frame */
            if (event & ZMQ_EVENT_DISCONNECTED) {
                t->lost[i] = 1;
                t->n_lost++;
                if (p->got) p->got[i] = 1;
            }
        }
    }
}

int32_t dgcn_zmq_check_lost(dgcn_transport *t) {
    s_check_lost((s_zt *)t);
    return t->n_lost;
}

/* The exchange, with the handshakes refused meanwhile counted as dropped frames. */
static int s_exchange(dgcn_transport *t, const dgcn_exchange *x) {
    s_zt *p = (s_zt *)t;
    int rc = s_exchange_frames(p, x);
    s_sync_refused(p->guard, &p->refused_seen, &t->traffic.dropped);
    return rc;
}

static int s_exchange_frames(s_zt *p, const dgcn_exchange *x) {
    dgcn_transport *t = &p->base;
    int rc = dgcn__check_exchange(t, x);
    if (rc) return rc;
    int n = t->n_neighbors;
    if (n > 0 && (!p->mesh || !p->out || !p->parked || !p->got))
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: exchange before dgcn_zmq_bind and "
                              "dgcn_zmq_connect_neighbors succeeded",
                              t->self);
    struct timespec dl = dgcn__deadline_after(t->deadline_ms);
    unsigned mark = dgcn__continued();
    for (int i = 0; i < n; i++) {
        if (dgcn__skips(t, x, i)) continue;
        rc = s_send_neighbor(p, x, i, &dl);
        if (rc) return rc;
    }
    /* a skipped link counts as delivered: what comes from it belongs to a later exchange */
    for (int i = 0; i < n; i++) p->got[i] = dgcn__skips(t, x, i);
    for (int i = 0; i < n; i++) {
        Dgcnpb__NeighborMsg *m = p->parked[i];
        if (!m) continue;
        p->parked[i] = NULL;
        rc = s_park_or_drop(p, x, m);
        if (rc) return rc;
    }
    while (s_count(p->got, n) < n) {
        zmq_pollitem_t it = {p->mesh, 0, ZMQ_POLLIN, 0};
        int r;
        if (t->watch_loss) { /* the links' monitors are read between short polls */
            s_check_lost(p);
            if (s_count(p->got, n) == n) break;
            int left = dgcn__ms_left(&dl);
            r = zmq_poll(&it, 1, left < S_LOSS_SLICE_MS ? left : S_LOSS_SLICE_MS);
            if (r <= 0 && dgcn__ms_left(&dl) <= 0) dgcn__deadline_renew(&dl, &mark, t->deadline_ms);
        } else {
            r = s_poll(&it, &dl, &mark, t->deadline_ms);
        }
        if (r < 0 && zmq_errno() != EINTR) return s_zerr("zmq_poll", "agent mesh");
        if (r > 0 && (it.revents & ZMQ_POLLIN)) {
            rc = s_recv_one(p, x);
            if (rc) return rc;
            continue;
        }
        if (dgcn__ms_left(&dl) <= 0) return dgcn__timeout(t, x, p->got, t->deadline_ms);
    }
    return DGCN_OK;
}

static int s_send_coord(dgcn_transport *t, const void *buf, size_t len) {
    s_zt *p = (s_zt *)t;
    if (!p->coord)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: no coordinator link (opened without one)",
                              t->self);
    s_sync_refused(p->guard, &p->refused_seen, &t->traffic.dropped);
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: coordinator message of %zu bytes exceeds %zu",
                              t->self, len, DGCN_COORD_MAX_BYTES);
    Dgcnpb__CoordMsg m = DGCNPB__COORD_MSG__INIT;
    m.run_id = t->run_id;
    m.agent = t->self;
    m.body.len = len;
    m.body.data = (uint8_t *)(uintptr_t)buf;
    size_t n = dgcnpb__coord_msg__get_packed_size(&m);
    zmq_msg_t z;
    if (zmq_msg_init_size(&z, n) != 0)
        return dgcn_error_set(DGCN_ENOMEM, "agent %d: cannot allocate a %zu-byte frame", t->self,
                              n);
    dgcnpb__coord_msg__pack(&m, zmq_msg_data(&z));
    struct timespec dl = dgcn__deadline_after(t->deadline_ms);
    int unreach = 0;
    int rc = s_send_msg(p->coord, &z, 0, &dl, &unreach);
    if (rc == DGCN_ETIMEDOUT)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "agent %d: could not send to the coordinator within %d ms (channel "
                              "control)",
                              t->self, t->deadline_ms);
    if (rc) return s_zerr("zmq_msg_send", "agent to coordinator");
    dgcn__count_send(t, -1, DGCN_CH_CONTROL, (int32_t)((len + 3) / 4));
    return DGCN_OK;
}

static int s_recv_coord(dgcn_transport *t, void **buf, size_t *len, int deadline_ms) {
    s_zt *p = (s_zt *)t;
    int rc = DGCN_OK;
    *buf = NULL;
    *len = 0;
    if (!p->coord)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: no coordinator link (opened without one)",
                              t->self);
    if (deadline_ms < 0) deadline_ms = t->deadline_ms;
    s_sync_refused(p->guard, &p->refused_seen, &t->traffic.dropped);
    zmq_pollitem_t it = {p->coord, 0, ZMQ_POLLIN, 0};
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    unsigned mark = dgcn__continued();
    for (;;) {
        int r = s_poll(&it, &dl, &mark, deadline_ms);
        if (r > 0) break;
        if (r < 0 && zmq_errno() != EINTR) return s_zerr("zmq_poll", "agent coordinator link");
        if (dgcn__ms_left(&dl) <= 0)
            return dgcn_error_set(DGCN_ETIMEDOUT,
                                  "agent %d: no message from the coordinator within %d ms "
                                  "(channel control)",
                                  t->self, deadline_ms);
    }
    zmq_msg_t z;
    zmq_msg_init(&z);
    if (zmq_msg_recv(&z, p->coord, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&z);
        return s_zerr("zmq_msg_recv", "agent coordinator link");
    }
    s_drain_more(p->coord);
    size_t size = zmq_msg_size(&z);
    Dgcnpb__CoordMsg *m = NULL;
    if (size > DGCN_COORD_MAX_BYTES + S_HDR_SLACK) {
        rc = dgcn_error_set(DGCN_EPROTO, "agent %d: coordinator frame of %zu bytes exceeds %zu",
                            t->self, size, DGCN_COORD_MAX_BYTES + S_HDR_SLACK);
        goto done;
    }
    m = dgcnpb__coord_msg__unpack(NULL, size, zmq_msg_data(&z));
    if (!m) {
        rc = dgcn_error_set(DGCN_EPROTO, "agent %d: coordinator frame of %zu bytes is malformed",
                            t->self, size);
        goto done;
    }
    if (m->run_id != t->run_id || m->agent != t->self) {
        rc = dgcn_error_set(DGCN_EPROTO,
                            "agent %d: coordinator message for run %016" PRIx64 ", agent %d "
                            "(expected run %016" PRIx64 ")",
                            t->self, m->run_id, m->agent, t->run_id);
        goto done;
    }
    *buf = malloc(m->body.len ? m->body.len : 1);
    if (!*buf) {
        rc = dgcn_error_set(DGCN_ENOMEM, "agent %d: out of memory (%zu bytes)", t->self,
                            m->body.len);
        goto done;
    }
    if (m->body.len) memcpy(*buf, m->body.data, m->body.len);
    *len = m->body.len;
done:
    if (m) dgcnpb__coord_msg__free_unpacked(m, NULL);
    zmq_msg_close(&z);
    return rc;
}

static void s_close(dgcn_transport **tp) {
    if (!tp || !*tp) return;
    s_zt *p = (s_zt *)*tp;
    for (int i = 0; i < p->base.n_neighbors; i++) {
        if (p->mon && p->mon[i]) {
            zmq_socket_monitor(p->out[i], NULL, 0);
            zmq_close(p->mon[i]);
        }
        if (p->out && p->out[i]) zmq_close(p->out[i]);
        if (p->parked && p->parked[i]) dgcnpb__neighbor_msg__free_unpacked(p->parked[i], NULL);
    }
    dgcn__guard_stop(&p->guard);
    if (p->mesh) zmq_close(p->mesh);
    if (p->coord) zmq_close(p->coord);
    if (p->ctx) zmq_ctx_term(p->ctx);
    if (p->ipc_path) unlink(p->ipc_path);
    free(p->ipc_path);
    free(p->coord_ep);
    free(p->out);
    free(p->mon);
    free(p->parked);
    free(p->got);
    dgcn__transport_fini(&p->base);
    memset(&p->creds, 0, sizeof p->creds);
    free(p);
    *tp = NULL;
}

static int s_bind(dgcn_transport *t, const char *endpoint, char *actual, size_t cap) {
    return dgcn_zmq_bind(t, endpoint, actual, cap);
}

static int s_connect(dgcn_transport *t, const int32_t *neighbors, const char *const *endpoints,
                     int32_t n) {
    return dgcn_zmq_connect_neighbors(t, neighbors, endpoints, n);
}

static const dgcn_transport_ops s_ops = {
    .name = "zmq",
    .bind = s_bind,
    .connect = s_connect,
    .exchange = s_exchange,
    .send_coord = s_send_coord,
    .recv_coord = s_recv_coord,
    .close = s_close,
};

static void *s_socket(void *ctx, int type, int deadline_ms, int32_t routing_id) {
    void *s = zmq_socket(ctx, type);
    if (!s) return NULL;
    s_set_linger(s, deadline_ms);
    if (routing_id >= 0) {
        char id[16];
        s_routing_id(id, sizeof id, routing_id);
        zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    }
    return s;
}

int dgcn_zmq_open(const dgcn_zmq_opts *o, dgcn_transport **out) {
    int rc = DGCN_OK;
    s_zt *p = NULL;
    *out = NULL;
    if (!o) return dgcn_error_set(DGCN_EINVAL, "zmq: NULL options");
    DGCN_ALLOC(p, 1);
    DGCN_CHECK(dgcn__transport_init(&p->base, &s_ops, o->agent, o->n_agents, NULL, 0, o->run_id,
                                    o->deadline_ms));
    p->max_msg = o->max_msg_bytes ? o->max_msg_bytes : DGCN_COORD_MAX_BYTES;
    if (o->creds) {
        if (o->creds->agent != o->agent)
            DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "agent %d: given the CURVE keys of agent %d",
                                      o->agent, o->creds->agent));
        p->creds = *o->creds;
        p->curve = 1;
    }
    if (s_is_tcp(o->coordinator) && !p->curve)
        DGCN_CHECK(dgcn_error_set(DGCN_EINVAL,
                                  "agent %d: the coordinator %s is tcp://, which needs this "
                                  "agent's CURVE keys (none given)",
                                  o->agent, o->coordinator));
    p->ctx = zmq_ctx_new();
    if (!p->ctx) {
        rc = s_zerr("zmq_ctx_new", "zmq open");
        goto fail;
    }
    if (o->coordinator) {
        p->coord_ep = strdup(o->coordinator);
        if (!p->coord_ep) DGCN_CHECK(dgcn_error_set(DGCN_ENOMEM, "out of memory"));
        p->coord = s_socket(p->ctx, ZMQ_DEALER, o->deadline_ms, o->agent);
        if (!p->coord) DGCN_CHECK(s_zerr("zmq_socket", "zmq open"));
        if (s_is_tcp(o->coordinator)) {
            char who[64];
            snprintf(who, sizeof who, "agent %d link to the coordinator", o->agent);
            DGCN_CHECK(dgcn_curve_check(who));
            DGCN_CHECK(dgcn__curve_client(p->coord, p->creds.public_key, p->creds.secret_key,
                                          p->creds.coordinator_key, who));
        }
        if (zmq_connect(p->coord, o->coordinator) != 0) {
            rc = dgcn_error_set(DGCN_ECOMM, "agent %d: cannot connect to coordinator %s: %s",
                                o->agent, o->coordinator, zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    *out = &p->base;
    return DGCN_OK;
fail:
    if (p) {
        dgcn_transport *t = &p->base;
        p->base.ops = &s_ops;
        s_close(&t);
    }
    return rc;
}

static s_zt *s_cast(dgcn_transport *t) { return t && t->ops == &s_ops ? (s_zt *)t : NULL; }

/* The mesh endpoint agent k binds by default: ipc://DIR/agent-K.sock beside an ipc coordinator,
 * tcp://HOST:0 on the coordinator's host for a tcp one (127.0.0.1 when it bound every
 * interface). */
static int s_default_bind(const char *coord, int32_t agent, char *out, size_t cap) {
    if (!coord)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: no mesh endpoint given and no coordinator "
                              "address to derive one from",
                              agent);
    if (!strncmp(coord, "ipc://", 6)) {
        const char *slash = strrchr(coord + 6, '/');
        int dir_len = slash ? (int)(slash - (coord + 6)) : 1;
        snprintf(out, cap, "ipc://%.*s/agent-%d.sock", dir_len, slash ? coord + 6 : ".", agent);
        return DGCN_OK;
    }
    char host[256] = "127.0.0.1";
    const char *h = coord + (strncmp(coord, "tcp://", 6) ? 0 : 6), *colon = strrchr(h, ':');
    if (colon && (size_t)(colon - h) < sizeof host && strncmp(h, "0.0.0.0", 7) &&
        strncmp(h, "*", 1)) {
        memcpy(host, h, (size_t)(colon - h));
        host[colon - h] = '\0';
    }
    snprintf(out, cap, "tcp://%s:0", host);
    return DGCN_OK;
}

int dgcn_zmq_bind(dgcn_transport *t, const char *endpoint, char *actual, size_t cap) {
    s_zt *p = s_cast(t);
    char def[1024];
    if (!p) return dgcn_error_set(DGCN_EINVAL, "zmq bind: not a zmq endpoint");
    if (p->mesh) return dgcn_error_set(DGCN_EINVAL, "agent %d: mesh already bound", t->self);
    if (!endpoint) {
        int rc = s_default_bind(p->coord_ep, t->self, def, sizeof def);
        if (rc) return rc;
        endpoint = def;
    }
    int tcp = s_is_tcp(endpoint);
    if (tcp && !p->curve)
        return dgcn_error_set(DGCN_EINVAL,
                              "agent %d: a tcp:// mesh (%s) needs this agent's CURVE keys "
                              "(none given)",
                              t->self, endpoint);
    p->mesh = s_socket(p->ctx, ZMQ_ROUTER, t->deadline_ms, -1);
    int64_t maxsz = (int64_t)p->max_msg + S_HDR_SLACK;
    if (!p->mesh) return s_zerr("zmq_socket", "agent mesh");
    zmq_setsockopt(p->mesh, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    int rc = DGCN_OK;
    if (tcp) { /* a guard that will admit the neighbours' keys, named in the set-up message */
        char who[64];
        snprintf(who, sizeof who, "agent %d mesh", t->self);
        rc = dgcn__guard_start(p->ctx, p->mesh, p->creds.secret_key, t->deadline_ms, who,
                               &p->guard);
    }
    if (rc == DGCN_OK && zmq_bind(p->mesh, endpoint) != 0)
        rc = dgcn_error_set(DGCN_ECOMM, "agent %d: cannot bind %s: %s", t->self, endpoint,
                            zmq_strerror(zmq_errno()));
    if (rc) {
        dgcn__guard_stop(&p->guard);
        zmq_close(p->mesh);
        p->mesh = NULL;
        return rc;
    }
    if (!strncmp(endpoint, "ipc://", 6)) p->ipc_path = strdup(endpoint + 6);
    if (actual && cap) {
        size_t sz = cap;
        if (zmq_getsockopt(p->mesh, ZMQ_LAST_ENDPOINT, actual, &sz) != 0)
            snprintf(actual, cap, "%s", endpoint);
        /* over tcp the endpoint announces the key neighbours must expect: "ADDR curve:KEY" */
        size_t len = strlen(actual);
        if (tcp &&
            snprintf(actual + len, cap - len, " curve:%s", p->creds.public_key) >= (int)(cap - len))
            return dgcn_error_set(DGCN_EINVAL, "agent %d: %zu bytes are too few for the endpoint",
                                  t->self, cap);
    }
    return DGCN_OK;
}

int dgcn_zmq_connect_neighbors(dgcn_transport *t, const int32_t *neighbors,
                               const char *const *endpoints, int32_t n) {
    int rc = DGCN_OK;
    s_zt *p = s_cast(t);
    if (!p) return dgcn_error_set(DGCN_EINVAL, "zmq connect: not a zmq endpoint");
    if (p->out) return dgcn_error_set(DGCN_EINVAL, "agent %d: neighbours already set", t->self);
    if (n > 0 && !endpoints)
        return dgcn_error_set(DGCN_EINVAL, "agent %d: no neighbour endpoints", t->self);
    int watch = t->watch_loss;
    DGCN_CHECK(dgcn__transport_set_neighbors(t, neighbors, n));
    t->watch_loss = watch;
    if (watch) DGCN_ALLOC(p->mon, n);
    DGCN_ALLOC(p->out, n);
    DGCN_ALLOC(p->parked, n);
    DGCN_ALLOC(p->got, n);
    for (int32_t i = 0; i < n; i++) {
        char addr[1024], key[DGCN_CURVE_KEY_LEN + 1], who[64];
        snprintf(who, sizeof who, "agent %d link to neighbour %d", t->self, neighbors[i]);
        if (!endpoints[i]) DGCN_CHECK(dgcn_error_set(DGCN_EINVAL, "%s: no endpoint", who));
        DGCN_CHECK(dgcn__curve_split_endpoint(endpoints[i], addr, sizeof addr, key));
        p->out[i] = s_socket(p->ctx, ZMQ_DEALER, t->deadline_ms, t->self);
        if (!p->out[i]) DGCN_CHECK(s_zerr("zmq_socket", who));
        if (s_is_tcp(addr)) { /* the neighbour's key: its mesh's server key, the one we admit */
            if (!key[0] || !p->curve)
                DGCN_CHECK(dgcn_error_set(DGCN_EPROTO,
                                          "%s: tcp endpoint '%s' without %s (it must read "
                                          "'tcp://HOST:PORT curve:KEY' and this agent needs keys)",
                                          who, endpoints[i], key[0] ? "own keys" : "a curve key"));
            DGCN_CHECK(
                dgcn__curve_client(p->out[i], p->creds.public_key, p->creds.secret_key, key, who));
        }
        if (key[0] && p->guard) DGCN_CHECK(dgcn__guard_admit(p->guard, key, neighbors[i]));
        if (watch) { /* the link's disconnect events, read by s_check_lost */
            char mon[96];
            snprintf(mon, sizeof mon, "inproc://dgcn-loss-%p-%d", (void *)p, (int)i);
            if (zmq_socket_monitor(p->out[i], mon, ZMQ_EVENT_DISCONNECTED) != 0)
                DGCN_CHECK(s_zerr("zmq_socket_monitor", who));
            p->mon[i] = zmq_socket(p->ctx, ZMQ_PAIR);
            if (!p->mon[i] || zmq_connect(p->mon[i], mon) != 0)
                DGCN_CHECK(s_zerr("zmq_connect (monitor)", who));
            /* a neighbour alive but silent (stopped, hung machine) answers no heartbeat: the link
             * closes within half the deadline, before any exchange's deadline, and it is lost.
             * A busy neighbour answers from its I/O thread, so a slow one is never lost. */
            int ivl = s_heartbeat_ivl(t->deadline_ms), tmo = t->deadline_ms / 2;
            if (zmq_setsockopt(p->out[i], ZMQ_HEARTBEAT_IVL, &ivl, sizeof ivl) != 0 ||
                zmq_setsockopt(p->out[i], ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof tmo) != 0)
                DGCN_CHECK(s_zerr("zmq_setsockopt (heartbeat)", who));
        }
        if (zmq_connect(p->out[i], addr) != 0) {
            rc = dgcn_error_set(DGCN_ECOMM, "agent %d: cannot connect to neighbour %d at %s: %s",
                                t->self, neighbors[i], addr, zmq_strerror(zmq_errno()));
            goto fail;
        }
    }
    dgcn__guard_seal(p->guard); /* every other key is refused from now on */
    return DGCN_OK;
fail:
    dgcn__guard_seal(p->guard);
    return rc; /* partially connected sockets are released by close */
}

/* ---- coordinator endpoint ---- */

static int s_hub_send(dgcn_hub *h, int32_t agent, const void *buf, size_t len) {
    s_zhub *p = (s_zhub *)h;
    int rc = dgcn__hub_check_agent(h, agent);
    if (rc) return rc;
    s_sync_refused(p->guard, &p->refused_seen, &h->traffic.dropped);
    if (len > DGCN_COORD_MAX_BYTES)
        return dgcn_error_set(DGCN_EINVAL, "hub: message of %zu bytes to agent %d exceeds %zu", len,
                              agent, DGCN_COORD_MAX_BYTES);
    Dgcnpb__CoordMsg m = DGCNPB__COORD_MSG__INIT;
    m.run_id = h->run_id;
    m.agent = agent;
    m.body.len = len;
    m.body.data = (uint8_t *)(uintptr_t)buf;
    size_t n = dgcnpb__coord_msg__get_packed_size(&m);
    char id[16];
    s_routing_id(id, sizeof id, agent);
    struct timespec dl = dgcn__deadline_after(h->deadline_ms);
    zmq_msg_t zi, zb;
    zmq_msg_init_size(&zi, strlen(id));
    memcpy(zmq_msg_data(&zi), id, strlen(id));
    int unreach = 0;
    rc = s_send_msg(p->sock, &zi, ZMQ_SNDMORE, &dl, &unreach);
    if (rc == DGCN_ETIMEDOUT)
        return dgcn_error_set(DGCN_ETIMEDOUT,
                              "coordinator: agent %d %s within %d ms (channel control)", agent,
                              unreach ? "has not connected" : "is not accepting messages",
                              h->deadline_ms);
    if (rc) return s_zerr("zmq_msg_send", "coordinator");
    if (zmq_msg_init_size(&zb, n) != 0) {
        zmq_msg_init(&zb);
        zmq_msg_send(&zb, p->sock, 0); /* finish the multipart message */
        return dgcn_error_set(DGCN_ENOMEM, "hub: cannot allocate a %zu-byte frame", n);
    }
    dgcnpb__coord_msg__pack(&m, zmq_msg_data(&zb));
    rc = s_send_msg(p->sock, &zb, 0, &dl, &unreach);
    if (rc) return dgcn_error_set(rc, "coordinator: sending to agent %d failed", agent);
    h->traffic.bytes[DGCN_CH_CONTROL] += len;
    h->traffic.messages[DGCN_CH_CONTROL] += 1;
    return DGCN_OK;
}

static int s_hub_recv_any(dgcn_hub *h, int32_t *agent, void **buf, size_t *len, int deadline_ms) {
    s_zhub *p = (s_zhub *)h;
    int rc = DGCN_OK;
    *agent = -1;
    *buf = NULL;
    *len = 0;
    if (deadline_ms < 0) deadline_ms = h->deadline_ms;
    struct timespec dl = dgcn__deadline_after(deadline_ms);
    unsigned mark = dgcn__continued();
    zmq_pollitem_t it = {p->sock, 0, ZMQ_POLLIN, 0};
again:
    s_sync_refused(p->guard, &p->refused_seen, &h->traffic.dropped);
    for (;;) {
        int r = s_poll(&it, &dl, &mark, deadline_ms);
        if (r > 0) break;
        if (r < 0 && zmq_errno() != EINTR) return s_zerr("zmq_poll", "coordinator");
        if (dgcn__ms_left(&dl) <= 0) return dgcn__hub_timeout(h, deadline_ms);
    }
    int32_t id = -1;
    zmq_msg_t body;
    Dgcnpb__CoordMsg *m = NULL;
    rc = s_recv_routed(p->sock, p->guard != NULL, &id, &body, "coordinator");
    if (rc) goto done;
    size_t size = zmq_msg_size(&body);
    if (id < 0 || id >= h->n_agents) { /* not from an agent: dropped and counted, never fatal */
        h->traffic.dropped++;
        zmq_msg_close(&body);
        goto again;
    }
    if (size > DGCN_COORD_MAX_BYTES + S_HDR_SLACK) {
        rc = dgcn_error_set(DGCN_EPROTO,
                            "coordinator: frame of %zu bytes from agent %d exceeds %zu", size, id,
                            DGCN_COORD_MAX_BYTES + S_HDR_SLACK);
        goto done;
    }
    m = dgcnpb__coord_msg__unpack(NULL, size, zmq_msg_data(&body));
    if (!m) {
        rc = dgcn_error_set(DGCN_EPROTO,
                            "coordinator: frame of %zu bytes from agent %d is malformed", size, id);
        goto done;
    }
    if (m->run_id != h->run_id || m->agent != id) {
        rc = dgcn_error_set(DGCN_EPROTO,
                            "coordinator: message from agent %d claims run %016" PRIx64
                            " and agent %d (expected run %016" PRIx64 ")",
                            id, m->run_id, m->agent, h->run_id);
        goto done;
    }
    *buf = malloc(m->body.len ? m->body.len : 1);
    if (!*buf) {
        rc = dgcn_error_set(DGCN_ENOMEM, "coordinator: out of memory (%zu bytes)", m->body.len);
        goto done;
    }
    if (m->body.len) memcpy(*buf, m->body.data, m->body.len);
    *len = m->body.len;
    *agent = id;
    dgcn__hub_heard(h, id);
done:
    if (m) dgcnpb__coord_msg__free_unpacked(m, NULL);
    zmq_msg_close(&body);
    return rc;
}

static void s_hub_close(dgcn_hub **hp) {
    if (!hp || !*hp) return;
    s_zhub *p = (s_zhub *)*hp;
    dgcn__guard_stop(&p->guard);
    if (p->sock) zmq_close(p->sock);
    if (p->ctx) zmq_ctx_term(p->ctx);
    /* its socket file, and what agents that bound the default endpoint and died left behind */
    if (p->ipc_path) {
        const char *slash = strrchr(p->ipc_path, '/');
        int dir_len = slash ? (int)(slash - p->ipc_path) : 1;
        for (int32_t k = 0; k < p->base.n_agents; k++) {
            char path[1200];
            snprintf(path, sizeof path, "%.*s/agent-%d.sock", dir_len, slash ? p->ipc_path : ".",
                     k);
            unlink(path);
        }
        unlink(p->ipc_path);
    }
    free(p->ipc_path);
    if (p->creds) memset(p->creds, 0, (size_t)p->base.n_agents * sizeof *p->creds);
    free(p->creds);
    dgcn__hub_fini(&p->base);
    free(p);
    *hp = NULL;
}

static const dgcn_hub_ops s_hub_ops = {"zmq", s_hub_send, s_hub_recv_any, s_hub_close, NULL};

/* tcp: the run's keys (the coordinator's keypair, one per agent) and a guard that admits exactly
 * the agents' keys, each as its agent. */
static int s_hub_make_keys(s_zhub *p, int deadline_ms) {
    int rc = DGCN_OK;
    int32_t m = p->base.n_agents;
    char coord_pub[DGCN_CURVE_KEY_LEN + 1], coord_sec[DGCN_CURVE_KEY_LEN + 1];
    DGCN_CHECK(dgcn_curve_check("coordinator"));
    DGCN_CHECK(dgcn__curve_keypair(coord_pub, coord_sec));
    DGCN_ALLOC(p->creds, m);
    for (int32_t k = 0; k < m; k++) {
        p->creds[k].agent = k;
        DGCN_CHECK(dgcn__curve_keypair(p->creds[k].public_key, p->creds[k].secret_key));
        memcpy(p->creds[k].coordinator_key, coord_pub, sizeof coord_pub);
    }
    DGCN_CHECK(
        dgcn__guard_start(p->ctx, p->sock, coord_sec, deadline_ms, "coordinator", &p->guard));
    for (int32_t k = 0; k < m; k++)
        DGCN_CHECK(dgcn__guard_admit(p->guard, p->creds[k].public_key, k));
    dgcn__guard_seal(p->guard);
    p->base.curve = p->creds;
fail:
    memset(coord_sec, 0, sizeof coord_sec);
    return rc;
}

int dgcn_zmq_hub_open(const char *endpoint, int32_t n_agents, uint64_t run_id, int deadline_ms,
                      char *actual, size_t cap, dgcn_hub **out) {
    int rc = DGCN_OK;
    s_zhub *p = NULL;
    *out = NULL;
    if (!endpoint) return dgcn_error_set(DGCN_EINVAL, "zmq hub: no endpoint given");
    DGCN_ALLOC(p, 1);
    p->base.ops = &s_hub_ops;
    DGCN_CHECK(dgcn__hub_init(&p->base, &s_hub_ops, n_agents, run_id, deadline_ms));
    p->ctx = zmq_ctx_new();
    if (!p->ctx) {
        rc = s_zerr("zmq_ctx_new", "zmq hub");
        goto fail;
    }
    p->sock = s_socket(p->ctx, ZMQ_ROUTER, deadline_ms, -1);
    int one = 1;
    int64_t maxsz = (int64_t)(DGCN_COORD_MAX_BYTES + S_HDR_SLACK);
    if (!p->sock) {
        rc = s_zerr("zmq_socket", "zmq hub");
        goto fail;
    }
    zmq_setsockopt(p->sock, ZMQ_ROUTER_MANDATORY, &one, sizeof one);
    zmq_setsockopt(p->sock, ZMQ_MAXMSGSIZE, &maxsz, sizeof maxsz);
    if (s_is_tcp(endpoint)) DGCN_CHECK(s_hub_make_keys(p, deadline_ms));
    if (zmq_bind(p->sock, endpoint) != 0) {
        rc = dgcn_error_set(DGCN_ECOMM, "coordinator: cannot bind %s: %s", endpoint,
                            zmq_strerror(zmq_errno()));
        goto fail;
    }
    if (!strncmp(endpoint, "ipc://", 6)) p->ipc_path = strdup(endpoint + 6);
    if (actual && cap) {
        size_t sz = cap;
        if (zmq_getsockopt(p->sock, ZMQ_LAST_ENDPOINT, actual, &sz) != 0)
            snprintf(actual, cap, "%s", endpoint);
    }
    *out = &p->base;
    return DGCN_OK;
fail:
    if (p) {
        dgcn_hub *h = &p->base;
        s_hub_close(&h);
    }
    return rc;
}

/* ---- the ipc:// and tcp:// schemes ---- */

/* Creates the folders of an ipc path (mkdir -p of its directory), mode 0700: only this user may
 * reach the sockets in a folder the hub creates (ipc uses no CURVE). */
static int s_make_parent(const char *path) {
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path) return DGCN_OK;
    if ((size_t)(slash - path) >= sizeof dir)
        return dgcn_error_set(DGCN_EINVAL, "ipc path %s is too long", path);
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    for (char *q = dir + 1;; q++) {
        char c = *q;
        if (c != '/' && c != '\0') continue;
        *q = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST)
            return dgcn_error_set(DGCN_EIO, "cannot create %s for an ipc socket: %s", dir,
                                  strerror(errno));
        *q = c;
        if (!c) break;
    }
    return DGCN_OK;
}

static int s_scheme_open(const char *address, int32_t agent, int32_t n_agents, uint64_t run_id,
                         int deadline_ms, dgcn_transport **t) {
    dgcn_zmq_opts o;
    memset(&o, 0, sizeof o);
    o.agent = agent;
    o.n_agents = n_agents;
    o.run_id = run_id;
    o.deadline_ms = deadline_ms;
    o.coordinator = address;
    dgcn_curve_creds c;
    if (s_is_tcp(address)) { /* this process's keys for the agent (comm/curve.h) */
        int rc = dgcn_curve_lookup(agent, &c);
        if (rc) return rc;
        o.creds = &c;
    }
    int rc = dgcn_zmq_open(&o, t);
    memset(&c, 0, sizeof c);
    return rc;
}

static int s_scheme_hub_open(const char *address, int32_t n_agents, uint64_t run_id,
                             int deadline_ms, char *actual, size_t cap, dgcn_hub **h) {
    *h = NULL;
    if (!strncmp(address, "ipc://", 6)) {
        int rc = s_make_parent(address + 6);
        if (rc) return rc;
    }
    return dgcn_zmq_hub_open(address, n_agents, run_id, deadline_ms, actual, cap, h);
}

/* The transport name "zmq": ipc://RUNDIR/coord.sock, or tcp://TCP_HOST:0. */
static int s_name_address(const char *rundir, const char *tcp_host, char *out, size_t cap) {
    if (tcp_host) {
        snprintf(out, cap, "tcp://%s:0", tcp_host);
        return DGCN_OK;
    }
    if (!rundir || !*rundir)
        return dgcn_error_set(DGCN_EINVAL, "zmq over ipc needs a run directory");
    if ((size_t)snprintf(out, cap, "ipc://%s/coord.sock", rundir) >= cap || strlen(out) > 100)
        return dgcn_error_set(DGCN_EINVAL,
                              "ipc path ipc://%s/coord.sock is too long for a "
                              "socket; use a shorter --out or tcp",
                              rundir);
    return DGCN_OK;
}

const dgcn__scheme dgcn__scheme_ipc = {
    .scheme = "ipc",
    .form = "ipc://PATH",
    .kind = "zmq",
    .launcher = "processes",
    .name_address = s_name_address,
    .open = s_scheme_open,
    .hub_open = s_scheme_hub_open,
};

const dgcn__scheme dgcn__scheme_tcp = {
    .scheme = "tcp",
    .form = "tcp://HOST:PORT",
    .kind = "zmq",
    .launcher = "processes",
    .open = s_scheme_open,
    .hub_open = s_scheme_hub_open,
};
