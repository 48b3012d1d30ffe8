/* tests/test_comm.c: one conformance suite for the inproc and zmq (ipc:// and tcp://) transports,
 * the coordinator hub and the control protocol. The MPI backend runs the same pattern in
 * tests/mpi_conformance.c under mpirun. Agents run as threads of this process. */
#include "comm/config.pb-c.h"
#include "comm/control.h"
#include "comm/control.pb-c.h"
#include "comm/curve.h"
#include "comm/hub.h"
#include "comm/inproc.h"
#include "comm/message.pb-c.h"
#include "comm/run_config.h"
#include "comm/transport.h"
#include "comm/zmq_transport.h"
#include "core/error.h"
#include "core/timer.h"
#include "tests/comm_pattern.h"
#include "tests/testconfig.h"
#include "tests/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

enum { B_INPROC = 0, B_ZMQ_IPC = 1, B_ZMQ_TCP = 2, B_COUNT = 3 };
static const char *s_backend_name[B_COUNT] = {"inproc", "zmq-ipc", "zmq-tcp"};
static const char *s_kind_name[B_COUNT] = {"inproc", "zmq", "zmq"};

#define RUN_ID 0x5eed0000c0ffeeULL
#define MAXM 8

typedef struct net {
    int kind, m;
    dgcn_transport *t[MAXM];
    dgcn_hub *hub;
    char dir[64];
} net;

/* Puts the hub's agent keys (tcp) in this process's store, where dgcn_transport_open finds them. */
static void s_store_keys(const dgcn_hub *h) {
    for (int32_t k = 0; k < h->n_agents; k++) {
        dgcn_curve_creds c;
        int has = 0;
        ck_assert_int_eq(dgcn_hub_credentials(h, k, &c, &has), DGCN_OK);
        if (has) ck_assert_int_eq(dgcn_curve_store(&c), DGCN_OK);
    }
}

/* Makes a raw zmq socket a CURVE client with the keys of c (tcp only). */
static void s_raw_client(void *sock, const dgcn_curve_creds *c) {
    ck_assert_int_eq(zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->coordinator_key, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->public_key, 40), 0);
    ck_assert_int_eq(zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->secret_key, 40), 0);
}

/* Opens the hub and m agents by address, as the coordinator and dgcn_run_agent do: a ring (topo 0),
 * complete graph (topo 1) or no neighbours (topo -1). */
static void net_open(net *w, int kind, int m, int topo, int deadline_ms) {
    static int serial;
    memset(w, 0, sizeof *w);
    w->kind = kind;
    w->m = m;
    int32_t nb[MAXM][MAXM];
    int nn[MAXM];
    for (int k = 0; k < m; k++) nn[k] = topo < 0 ? 0 : tp_neighbors(topo, m, k, nb[k]);
    char want[128], hub_ep[256] = "";
    if (kind == B_INPROC) {
        snprintf(want, sizeof want, "inproc://comm-test-%d", ++serial);
    } else {
        snprintf(w->dir, sizeof w->dir, "/tmp/dgcn-comm-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(w->dir));
        if (kind == B_ZMQ_IPC) snprintf(want, sizeof want, "ipc://%s/hub.sock", w->dir);
        else snprintf(want, sizeof want, "tcp://127.0.0.1:0");
    }
    ck_assert_msg(dgcn_hub_open(want, m, RUN_ID, deadline_ms, hub_ep, sizeof hub_ep, &w->hub) ==
                      DGCN_OK,
                  "%s", dgcn_error_msg());
    if (kind == B_ZMQ_TCP) ck_assert_msg(strcmp(hub_ep, want), "port not resolved: %s", hub_ep);
    else ck_assert_str_eq(hub_ep, want);
    s_store_keys(w->hub); /* as the coordinator hands every agent its keys */
    char eps[MAXM][256];
    for (int k = 0; k < m; k++) {
        ck_assert_msg(dgcn_transport_open(hub_ep, k, m, RUN_ID, deadline_ms, &w->t[k]) == DGCN_OK,
                      "%s", dgcn_error_msg());
        ck_assert_str_eq(w->t[k]->ops->name, s_kind_name[kind]);
        if (topo < 0) continue;
        ck_assert_msg(dgcn_transport_bind(w->t[k], NULL, eps[k], sizeof eps[k]) == DGCN_OK, "%s",
                      dgcn_error_msg());
        /* the default mesh endpoint is derived from the coordinator's address */
        char def[128] = "";
        if (kind == B_ZMQ_IPC) snprintf(def, sizeof def, "ipc://%s/agent-%d.sock", w->dir, k);
        if (kind == B_ZMQ_TCP) snprintf(def, sizeof def, "tcp://127.0.0.1:");
        ck_assert_msg(!strncmp(eps[k], def, strlen(def)) && (kind != B_INPROC || !eps[k][0]),
                      "agent %d bound %s, expected %s", k, eps[k], def);
    }
    if (topo < 0) return;
    for (int k = 0; k < m; k++) {
        const char *e[MAXM];
        for (int i = 0; i < nn[k]; i++) e[i] = eps[nb[k][i]];
        ck_assert_msg(dgcn_transport_connect(w->t[k], nb[k], e, nn[k]) == DGCN_OK, "%s",
                      dgcn_error_msg());
    }
}

static void s_rm_dir(const char *dir) {
    if (!dir[0]) return;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void net_close(net *w) {
    for (int k = 0; k < w->m; k++) {
        dgcn_transport_close(&w->t[k]);
        ck_assert_ptr_null(w->t[k]);
    }
    dgcn_hub_close(&w->hub);
    ck_assert_ptr_null(w->hub);
    s_rm_dir(w->dir);
}

typedef struct job {
    dgcn_transport *t;
    int64_t iters;
    int zero_len;
    tp_result r;
} job;

static void *s_job(void *arg) {
    job *j = arg;
    tp_run(j->t, j->iters, j->zero_len, &j->r);
    return NULL;
}

/* Runs the pattern on every agent of w in its own thread. */
static void s_run_all(net *w, int64_t iters, int zero_len, job *jobs) {
    pthread_t th[MAXM];
    for (int k = 0; k < w->m; k++) {
        jobs[k].t = w->t[k];
        jobs[k].iters = iters;
        jobs[k].zero_len = zero_len;
        ck_assert_int_eq(pthread_create(&th[k], NULL, s_job, &jobs[k]), 0);
    }
    for (int k = 0; k < w->m; k++) pthread_join(th[k], NULL);
}

static void s_pattern(int kind, int topo, int64_t iters, int zero_len) {
    net w;
    job jobs[MAXM];
    net_open(&w, kind, 4, topo, 5000);
    s_run_all(&w, iters, zero_len, jobs);
    for (int k = 0; k < 4; k++)
        ck_assert_msg(jobs[k].r.fails == 0, "%s agent %d: %d failures (%s: %s)",
                      s_backend_name[kind], k, jobs[k].r.fails, dgcn_strerror(jobs[k].r.rc),
                      jobs[k].r.msg);
    net_close(&w);
}

/* ---- exchanges ---- */

START_TEST(test_ring_exact) { s_pattern(_i, 0, 50, 0); }
END_TEST

START_TEST(test_complete_exact) { s_pattern(_i, 1, 50, 0); }
END_TEST

START_TEST(test_zero_length) { s_pattern(_i, 1, 5, 1); }
END_TEST

/* Links left out of an exchange (dgcn_exchange.skip), differently per link and exchange, on a
 * complete graph whose agents run unevenly: every other message arrives exactly, nothing arrives
 * on a skipped link, and the counters count only what was sent. */
START_TEST(test_skip_links) {
    net w;
    job jobs[MAXM];
    net_open(&w, _i, 4, 1, 5000);
    s_run_all(&w, 40, TP_SKIP, jobs);
    for (int k = 0; k < 4; k++) {
        dgcn_transport *t = w.t[k];
        ck_assert_msg(jobs[k].r.fails == 0, "%s agent %d: %d failures (%s: %s)", s_backend_name[_i],
                      k, jobs[k].r.fails, dgcn_strerror(jobs[k].r.rc), jobs[k].r.msg);
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
            ck_assert_uint_eq(t->traffic.messages[ch], jobs[k].r.expect.messages[ch]);
            ck_assert_uint_eq(t->traffic.bytes[ch], jobs[k].r.expect.bytes[ch]);
        }
        ck_assert_uint_lt(t->traffic.messages[DGCN_CH_PARAMS], 40 * 3); /* some were skipped */
    }
    net_close(&w);
}
END_TEST

START_TEST(test_counters) {
    net w;
    job jobs[MAXM];
    net_open(&w, _i, 4, 1, 5000);
    s_run_all(&w, 3, 0, jobs);
    for (int k = 0; k < 4; k++) {
        dgcn_transport *t = w.t[k];
        ck_assert_int_eq(jobs[k].r.fails, 0);
        ck_assert_int_eq(t->n_neighbors, 3);
        for (int ch = 0; ch < DGCN_CH_COUNT; ch++) {
            ck_assert_uint_eq(t->traffic.bytes[ch], jobs[k].r.expect.bytes[ch]);
            ck_assert_uint_eq(t->traffic.messages[ch], jobs[k].r.expect.messages[ch]);
            for (int i = 0; i < 3; i++) {
                ck_assert_uint_eq(t->per_link[i].bytes[ch], jobs[k].r.expect_link[i].bytes[ch]);
                ck_assert_uint_eq(t->per_link[i].messages[ch],
                                  jobs[k].r.expect_link[i].messages[ch]);
            }
        }
        /* 3 iterations: 2 forward, 2 backward, 1 params exchange per neighbour each */
        ck_assert_uint_eq(t->traffic.messages[DGCN_CH_HALO_FWD], 3 * 2 * 3);
        ck_assert_uint_eq(t->traffic.messages[DGCN_CH_PARAMS], 3 * 1 * 3);
        ck_assert_uint_eq(t->traffic.messages[DGCN_CH_CONTROL], 0);
        ck_assert_uint_gt(t->traffic.bytes[DGCN_CH_HALO_FWD], 0);
    }
    net_close(&w);
}
END_TEST

/* ---- deadlines ---- */

START_TEST(test_timeout_names_peer) {
    net w;
    const int deadline = 300;
    net_open(&w, _i, 2, 0, deadline);
    float s[4] = {1, 2, 3, 4}, r[4] = {-1, -1, -1, -1};
    const float *sp[1] = {s};
    float *rp[1] = {r};
    int32_t len[1] = {4};
    dgcn_exchange x = {DGCN_CH_HALO_BWD, 7, 2, sp, len, rp, len, 0, NULL, NULL};
    double t0 = dgcn_now_ms();
    int rc = dgcn_transport_exchange(w.t[0], &x); /* agent 1 never answers */
    double el = dgcn_now_ms() - t0;
    ck_assert_int_eq(rc, DGCN_ETIMEDOUT);
    ck_assert_msg(el >= deadline - 5 && el < deadline + 3000, "waited %.0f ms", el);
    const char *msg = dgcn_error_msg();
    ck_assert_msg(strstr(msg, "neighbour(s) 1 ") && strstr(msg, "iteration 7") &&
                      strstr(msg, "layer 2") && strstr(msg, "halo_bwd"),
                  "%s", msg);
    ck_assert(r[0] == -1 && r[3] == -1);
    /* the endpoint records whom it waited for, for the agent's error to the coordinator */
    const dgcn_stall *st = &w.t[0]->stall;
    ck_assert(st->n == 1 && st->who[0] == 1 && st->iter == 7 && st->waited_ms == deadline);
    net_close(&w);
}
END_TEST

/* ---- bad peers ---- */

enum { BAD_FOREIGN, BAD_LENGTH, BAD_STALE, BAD_NOT_NEIGHBOR, BAD_GARBAGE, BAD_OVERSIZE, BAD_COUNT };
static const char *s_bad_expect[BAD_COUNT] = {"foreign run",
                                              "expected 4",
                                              "stale or out of order",
                                              "not a neighbour",
                                              "not a neighbour message",
                                              "exceeds"};

/* Agent 0 of 4 with neighbours 1 (and 2 when nn == 2) played by the test (inject for inproc, raw
 * sockets for zmq); agent 3 is a stranger. */
typedef struct fake {
    int kind;
    dgcn_inproc_fabric *f;
    dgcn_transport *t;
    void *ctx, *sink[2], *peer[4];
    char dir[64];
    dgcn_curve_creds keys[4]; /* tcp: the agents' keypairs (coordinator_key: agent 0's public) */
} fake;

static int s_fake_watch; /* fake_open: watch_loss on agent 0 (zmq) */

static void fake_open(fake *z, int kind, int nn) {
    memset(z, 0, sizeof *z);
    z->kind = kind;
    int32_t nb[2] = {1, 2};
    if (kind == B_INPROC) {
        ck_assert_int_eq(dgcn_inproc_fabric_new(4, RUN_ID, 1000, &z->f), DGCN_OK);
        ck_assert_int_eq(dgcn_inproc_open(z->f, 0, nb, nn, &z->t), DGCN_OK);
        return;
    }
    char ep0[256], ep[2][256], want[128];
    snprintf(z->dir, sizeof z->dir, "/tmp/dgcn-comm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(z->dir));
    for (int a = 0; kind == B_ZMQ_TCP && a < 4; a++) {
        z->keys[a].agent = a;
        ck_assert_int_eq(zmq_curve_keypair(z->keys[a].public_key, z->keys[a].secret_key), 0);
    }
    for (int a = 0; kind == B_ZMQ_TCP && a < 4; a++)
        memcpy(z->keys[a].coordinator_key, z->keys[0].public_key, 41);
    dgcn_zmq_opts o = {0, 4, RUN_ID, 1000, NULL, 0, kind == B_ZMQ_TCP ? &z->keys[0] : NULL};
    ck_assert_int_eq(dgcn_zmq_open(&o, &z->t), DGCN_OK);
    if (kind == B_ZMQ_IPC) snprintf(want, sizeof want, "ipc://%s/agent-0.sock", z->dir);
    else snprintf(want, sizeof want, "tcp://127.0.0.1:0");
    ck_assert_int_eq(dgcn_zmq_bind(z->t, want, ep0, sizeof ep0), DGCN_OK);
    z->ctx = zmq_ctx_new();
    int linger = 0;
    const char *e[2];
    for (int i = 0; i < nn; i++) {
        z->sink[i] = zmq_socket(z->ctx, ZMQ_ROUTER);
        zmq_setsockopt(z->sink[i], ZMQ_LINGER, &linger, sizeof linger);
        if (kind == B_ZMQ_TCP) { /* neighbour i+1's mesh: a CURVE server with its key */
            int one = 1;
            zmq_setsockopt(z->sink[i], ZMQ_CURVE_SERVER, &one, sizeof one);
            zmq_setsockopt(z->sink[i], ZMQ_CURVE_SECRETKEY, z->keys[i + 1].secret_key, 40);
        }
        if (kind == B_ZMQ_IPC) snprintf(want, sizeof want, "ipc://%s/agent-%d.sock", z->dir, i + 1);
        else snprintf(want, sizeof want, "tcp://127.0.0.1:*");
        ck_assert_int_eq(zmq_bind(z->sink[i], want), 0);
        size_t sz = sizeof ep[i];
        zmq_getsockopt(z->sink[i], ZMQ_LAST_ENDPOINT, ep[i], &sz);
        if (kind == B_ZMQ_TCP) /* announced with its key, as dgcn_zmq_bind does */
            snprintf(ep[i] + strlen(ep[i]), sizeof ep[i] - strlen(ep[i]), " curve:%s",
                     z->keys[i + 1].public_key);
        e[i] = ep[i];
    }
    z->t->watch_loss = s_fake_watch;
    ck_assert_int_eq(dgcn_zmq_connect_neighbors(z->t, nb, e, nn), DGCN_OK);
    for (int a = 1; a < 4; a++) {
        char id[4] = {'a', (char)('0' + a), 0, 0};
        z->peer[a] = zmq_socket(z->ctx, ZMQ_DEALER);
        zmq_setsockopt(z->peer[a], ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(z->peer[a], ZMQ_ROUTING_ID, id, 2);
        if (kind == B_ZMQ_TCP) s_raw_client(z->peer[a], &z->keys[a]);
        char addr[256];
        snprintf(addr, sizeof addr, "%s", ep0);
        if (strchr(addr, ' ')) *strchr(addr, ' ') = '\0'; /* "ADDR curve:KEY" */
        ck_assert_int_eq(zmq_connect(z->peer[a], addr), 0);
    }
}

static void fake_close(fake *z) {
    dgcn_transport_close(&z->t);
    dgcn_inproc_fabric_destroy(&z->f);
    for (int a = 0; a < 4; a++)
        if (z->peer[a]) zmq_close(z->peer[a]);
    for (int i = 0; i < 2; i++)
        if (z->sink[i]) zmq_close(z->sink[i]);
    if (z->ctx) zmq_ctx_term(z->ctx);
    s_rm_dir(z->dir);
}

/* Sends a neighbour message whose header claims `sender` over the connection of agent `via` (zmq:
 * the DEALER with routing id "a<via>"; inproc has no connection and ignores it). */
static void fake_send_via(fake *z, int via, uint64_t run_id, int32_t sender, int64_t iter,
                          int32_t n, const float *v) {
    if (z->kind == B_INPROC) {
        ck_assert_int_eq(dgcn_inproc_inject(z->f, 0, run_id, sender, DGCN_CH_PARAMS, iter, 0, v, n),
                         DGCN_OK);
        return;
    }
    Dgcnpb__NeighborMsg m = DGCNPB__NEIGHBOR_MSG__INIT;
    m.run_id = run_id;
    m.sender = sender;
    m.iter = iter;
    m.layer = 0;
    m.channel = DGCN_CH_PARAMS;
    m.length = n;
    m.payload.len = (size_t)n * 4;
    m.payload.data = (uint8_t *)(uintptr_t)v;
    uint8_t buf[1024];
    size_t len = dgcnpb__neighbor_msg__pack(&m, buf);
    ck_assert_int_eq(zmq_send(z->peer[via], buf, len, 0), (int)len);
}

/* Sends a neighbour message with the given header as agent `sender`. */
static void fake_send(fake *z, uint64_t run_id, int32_t sender, int64_t iter, int32_t n,
                      const float *v) {
    fake_send_via(z, sender, run_id, sender, iter, n, v);
}

static void fake_send_raw(fake *z, const void *buf, size_t len) {
    ck_assert_int_eq(zmq_send(z->peer[1], buf, len, 0), (int)len);
}

START_TEST(test_bad_peer) {
    int kind = _i / BAD_COUNT, bad = _i % BAD_COUNT;
    if (kind == B_INPROC && (bad == BAD_GARBAGE || bad == BAD_OVERSIZE)) return; /* no bytes */
    fake z;
    fake_open(&z, kind, 1);
    const float good[4] = {1.5f, -2.0f, 3.25f, 1e-3f}, evil[5] = {666, 666, 666, 666, 666};
    switch (bad) {
    case BAD_FOREIGN: fake_send(&z, RUN_ID ^ 1, 1, 9, 4, evil); break;
    case BAD_LENGTH: fake_send(&z, RUN_ID, 1, 9, 5, evil); break;
    case BAD_STALE: fake_send(&z, RUN_ID, 1, 8, 4, evil); break;
    case BAD_NOT_NEIGHBOR: fake_send(&z, RUN_ID, 3, 9, 4, evil); break;
    case BAD_GARBAGE: fake_send_raw(&z, "\xff\xff\xff\xff garbage", 12); break;
    case BAD_OVERSIZE: {
        size_t n = 1 << 16;
        char *big = malloc(n);
        ck_assert_ptr_nonnull(big);
        memset(big, 0x42, n);
        fake_send_raw(&z, big, n);
        free(big);
        break;
    }
    }
    float mine[4] = {9, 9, 9, 9}, r[4] = {-7, -7, -7, -7};
    const float *sp[1] = {mine};
    float *rp[1] = {r};
    int32_t len[1] = {4};
    dgcn_exchange x = {DGCN_CH_PARAMS, 9, 0, sp, len, rp, len, 0, NULL, NULL};
    int rc = dgcn_transport_exchange(z.t, &x);
    if (kind == B_ZMQ_TCP && bad == BAD_NOT_NEIGHBOR) {
        /* over tcp the mesh refuses the handshake of a key that is no neighbour's: its frame
         * never arrives, the exchange waits out its deadline, the refusal is counted */
        ck_assert_msg(rc == DGCN_ETIMEDOUT, "got %s (%s)", dgcn_strerror(rc), dgcn_error_msg());
        ck_assert_uint_ge(z.t->traffic.dropped, 1);
    } else {
        ck_assert_msg(rc == DGCN_EPROTO, "%s case %d: got %s (%s)", s_backend_name[kind], bad,
                      dgcn_strerror(rc), dgcn_error_msg());
        ck_assert_msg(strstr(dgcn_error_msg(), s_bad_expect[bad]), "%s", dgcn_error_msg());
    }
    for (int j = 0; j < 4; j++) ck_assert(r[j] == -7); /* nothing mixed in */
    /* the real message that follows is received intact */
    fake_send(&z, RUN_ID, 1, 9, 4, good);
    rc = dgcn_transport_exchange(z.t, &x);
    ck_assert_msg(rc == DGCN_OK, "%s", dgcn_error_msg());
    for (int j = 0; j < 4; j++) ck_assert(r[j] == good[j]);
    fake_close(&z);
}
END_TEST

/* zmq: neighbour 1's connection carries a header claiming neighbour 2. The routing id decides who
 * sent a frame, so it is rejected naming both and fills neither neighbour's buffer. */
START_TEST(test_impersonation) {
    int kind = B_ZMQ_IPC + _i;
    fake z;
    fake_open(&z, kind, 2);
    const float evil[4] = {666, 666, 666, 666}, v1[4] = {1, 2, 3, 4}, v2[4] = {5, 6, 7, 8};
    float mine[4] = {0, 0, 0, 0}, r1[4] = {-7, -7, -7, -7}, r2[4] = {-7, -7, -7, -7};
    const float *sp[2] = {mine, mine};
    float *rp[2] = {r1, r2};
    int32_t len[2] = {4, 4};
    dgcn_exchange x = {DGCN_CH_PARAMS, 9, 0, sp, len, rp, len, 0, NULL, NULL};
    fake_send_via(&z, 1, RUN_ID, 2, 9, 4, evil);
    int rc = dgcn_transport_exchange(z.t, &x);
    ck_assert_msg(rc == DGCN_EPROTO, "%s: got %s (%s)", s_backend_name[kind], dgcn_strerror(rc),
                  dgcn_error_msg());
    ck_assert_msg(strstr(dgcn_error_msg(), "neighbour 1 claims sender 2"), "%s", dgcn_error_msg());
    for (int j = 0; j < 4; j++) ck_assert(r1[j] == -7 && r2[j] == -7); /* nothing mixed in */
    /* the real messages that follow are received intact, each in its own buffer */
    fake_send(&z, RUN_ID, 2, 9, 4, v2);
    fake_send(&z, RUN_ID, 1, 9, 4, v1);
    rc = dgcn_transport_exchange(z.t, &x);
    ck_assert_msg(rc == DGCN_OK, "%s", dgcn_error_msg());
    for (int j = 0; j < 4; j++) ck_assert(r1[j] == v1[j] && r2[j] == v2[j]);
    fake_close(&z);
}
END_TEST

/* A neighbour one exchange ahead is buffered; one two exchanges ahead is rejected. */
START_TEST(test_ahead_buffered) {
    fake z;
    fake_open(&z, _i, 2);
    const float v[6][2] = {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}};
    float mine[2] = {0, 0}, r1[2] = {0, 0}, r2[2] = {0, 0};
    const float *sp[2] = {mine, mine};
    float *rp[2] = {r1, r2};
    int32_t len[2] = {2, 2};
    dgcn_exchange x = {DGCN_CH_PARAMS, 1, 0, sp, len, rp, len, 0, NULL, NULL};
    fake_send(&z, RUN_ID, 1, 1, 2, v[0]);
    fake_send(&z, RUN_ID, 1, 2, 2, v[1]); /* neighbour 1 is already one exchange ahead */
    fake_send(&z, RUN_ID, 2, 1, 2, v[2]);
    ck_assert_msg(dgcn_transport_exchange(z.t, &x) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(r1[0] == 1 && r1[1] == 2 && r2[0] == 5 && r2[1] == 6);
    x.iter = 2;
    fake_send(&z, RUN_ID, 2, 2, 2, v[3]);
    ck_assert_msg(dgcn_transport_exchange(z.t, &x) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(r1[0] == 3 && r1[1] == 4 && r2[0] == 7 && r2[1] == 8);
    /* neighbour 1 sends iterations 3, 4 and 5 while neighbour 2 is still silent */
    x.iter = 3;
    fake_send(&z, RUN_ID, 1, 3, 2, v[4]);
    fake_send(&z, RUN_ID, 1, 4, 2, v[5]);
    fake_send(&z, RUN_ID, 1, 5, 2, v[5]);
    int rc = dgcn_transport_exchange(z.t, &x);
    ck_assert_msg(rc == DGCN_EPROTO && strstr(dgcn_error_msg(), "more than one exchange ahead"),
                  "%s: %s", dgcn_strerror(rc), dgcn_error_msg());
    fake_close(&z);
}
END_TEST

/* ---- hub ---- */

static void s_fill(uint8_t *b, size_t n, int seed) {
    for (size_t i = 0; i < n; i++) b[i] = (uint8_t)(seed * 31 + i * 7);
}

START_TEST(test_hub) {
    net w;
    const int deadline = 2000; /* connections on a loaded machine; the waits below are explicit */
    net_open(&w, _i, 4, -1, deadline);
    uint8_t out[4][3000], chk[3000];
    size_t n[4];
    for (int k = 0; k < 4; k++) {
        n[k] = 100 + (size_t)k * 900;
        s_fill(out[k], n[k], k);
    }
    /* agents 0 and 2 speak; 1 and 3 stay silent */
    ck_assert_int_eq(dgcn_transport_send_coord(w.t[0], out[0], n[0]), DGCN_OK);
    ck_assert_int_eq(dgcn_transport_send_coord(w.t[2], out[2], n[2]), DGCN_OK);
    int seen[4] = {0};
    for (int r = 0; r < 2; r++) {
        int32_t a = -1;
        void *buf = NULL;
        size_t len = 0;
        ck_assert_msg(dgcn_hub_recv_any(w.hub, &a, &buf, &len, -1) == DGCN_OK, "%s",
                      dgcn_error_msg());
        ck_assert(a == 0 || a == 2);
        seen[a]++;
        ck_assert_uint_eq(len, n[a]);
        ck_assert_int_eq(memcmp(buf, out[a], len), 0);
        free(buf);
    }
    ck_assert(seen[0] == 1 && seen[2] == 1);
    int32_t a = -1;
    void *buf = NULL;
    size_t len = 0;
    double t0 = dgcn_now_ms();
    int rc = dgcn_hub_recv_any(w.hub, &a, &buf, &len, 250);
    double el = dgcn_now_ms() - t0;
    ck_assert_int_eq(rc, DGCN_ETIMEDOUT);
    ck_assert_msg(el >= 245 && el < 250 + 3000, "waited %.0f ms", el);
    ck_assert_msg(strstr(dgcn_error_msg(), "never heard: 1, 3;"), "%s", dgcn_error_msg());
    ck_assert_ptr_null(buf);
    /* the hub addresses each agent */
    uint64_t total = 0;
    for (int k = 0; k < 4; k++) {
        s_fill(chk, n[k], 10 + k);
        ck_assert_msg(dgcn_hub_send(w.hub, k, chk, n[k]) == DGCN_OK, "%s", dgcn_error_msg());
        total += n[k];
    }
    for (int k = 3; k >= 0; k--) {
        ck_assert_msg(dgcn_transport_recv_coord(w.t[k], &buf, &len, -1) == DGCN_OK, "%s",
                      dgcn_error_msg());
        s_fill(chk, n[k], 10 + k);
        ck_assert_uint_eq(len, n[k]);
        ck_assert_int_eq(memcmp(buf, chk, len), 0);
        free(buf);
    }
    ck_assert_uint_eq(w.hub->traffic.bytes[DGCN_CH_CONTROL], total);
    ck_assert_uint_eq(w.hub->traffic.messages[DGCN_CH_CONTROL], 4);
    ck_assert_uint_eq(w.t[0]->traffic.messages[DGCN_CH_CONTROL], 1);
    ck_assert_uint_eq(w.t[1]->traffic.messages[DGCN_CH_CONTROL], 0);
    /* an agent waiting on a silent coordinator */
    t0 = dgcn_now_ms();
    rc = dgcn_transport_recv_coord(w.t[1], &buf, &len, 200);
    el = dgcn_now_ms() - t0;
    ck_assert_int_eq(rc, DGCN_ETIMEDOUT);
    ck_assert_msg(el >= 195 && el < 200 + 3000, "waited %.0f ms", el);
    ck_assert_msg(strstr(dgcn_error_msg(), "agent 1") && strstr(dgcn_error_msg(), "coordinator"),
                  "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_hub_send(w.hub, 4, chk, 1), DGCN_EINVAL);
    net_close(&w);
}
END_TEST

/* zmq: a client with a valid agent identity ("a1") sends the hub a message of a foreign run (case
 * 0) or one claiming another agent (case 1). recv_any reports DGCN_EPROTO and delivers nothing: no
 * buffer, no agent, agent 1 still never heard; the hub keeps serving real agents, and the same
 * client is heard once its header is right. */
START_TEST(test_hub_forged) {
    int kind = B_ZMQ_IPC + _i / 2, foreign = _i % 2 == 0;
    char dir[64], want[128], ep[256];
    snprintf(dir, sizeof dir, "/tmp/dgcn-comm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (kind == B_ZMQ_IPC) snprintf(want, sizeof want, "ipc://%s/hub.sock", dir);
    else snprintf(want, sizeof want, "tcp://127.0.0.1:0");
    dgcn_hub *h = NULL;
    ck_assert_msg(dgcn_zmq_hub_open(want, 4, RUN_ID, 1000, ep, sizeof ep, &h) == DGCN_OK, "%s",
                  dgcn_error_msg());
    dgcn_curve_creds c0, c1;
    int has = 0;
    ck_assert_int_eq(dgcn_hub_credentials(h, 0, &c0, &has), DGCN_OK);
    ck_assert_int_eq(dgcn_hub_credentials(h, 1, &c1, &has), DGCN_OK);
    ck_assert_int_eq(has, kind == B_ZMQ_TCP);
    dgcn_zmq_opts o = {0, 4, RUN_ID, 1000, ep, 0, has ? &c0 : NULL};
    dgcn_transport *t0 = NULL;
    ck_assert_msg(dgcn_zmq_open(&o, &t0) == DGCN_OK, "%s", dgcn_error_msg());
    void *ctx = zmq_ctx_new();
    void *raw = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(raw, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(raw, ZMQ_ROUTING_ID, "a1", 2);
    if (has) s_raw_client(raw, &c1); /* agent 1's own keys: a faulty agent, not a stranger */
    ck_assert_int_eq(zmq_connect(raw, ep), 0);

    uint8_t body[40], frame[128];
    s_fill(body, sizeof body, 3);
    Dgcnpb__CoordMsg m = DGCNPB__COORD_MSG__INIT;
    m.run_id = foreign ? RUN_ID ^ 1 : RUN_ID;
    m.agent = foreign ? 1 : 2;
    m.body.len = sizeof body;
    m.body.data = body;
    size_t n = dgcnpb__coord_msg__pack(&m, frame);
    ck_assert_int_eq(zmq_send(raw, frame, n, 0), (int)n);
    int32_t a = 7;
    void *buf = NULL;
    size_t len = 5;
    int rc = dgcn_hub_recv_any(h, &a, &buf, &len, -1);
    ck_assert_msg(rc == DGCN_EPROTO, "%s: got %s (%s)", s_backend_name[kind], dgcn_strerror(rc),
                  dgcn_error_msg());
    char expect[128];
    snprintf(expect, sizeof expect, "message from agent 1 claims run %016llx and agent %d",
             (unsigned long long)m.run_id, (int)m.agent);
    ck_assert_msg(strstr(dgcn_error_msg(), expect), "%s", dgcn_error_msg());
    ck_assert_ptr_null(buf);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(a, -1);
    ck_assert(h->last_heard_ms[1] < 0);

    /* a real agent is still heard */
    ck_assert_int_eq(dgcn_transport_send_coord(t0, "ok", 3), DGCN_OK);
    ck_assert_msg(dgcn_hub_recv_any(h, &a, &buf, &len, -1) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(a == 0 && len == 3 && memcmp(buf, "ok", 3) == 0);
    free(buf);
    /* the same client with a correct header is agent 1 */
    m.run_id = RUN_ID;
    m.agent = 1;
    n = dgcnpb__coord_msg__pack(&m, frame);
    ck_assert_int_eq(zmq_send(raw, frame, n, 0), (int)n);
    ck_assert_msg(dgcn_hub_recv_any(h, &a, &buf, &len, -1) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(a == 1 && len == sizeof body && memcmp(buf, body, len) == 0);
    ck_assert(h->last_heard_ms[1] >= 0);
    free(buf);

    zmq_close(raw);
    zmq_ctx_term(ctx);
    dgcn_transport_close(&t0);
    dgcn_hub_close(&h);
    s_rm_dir(dir);
}
END_TEST

/* zmq: frames from a socket that is no agent of the run (no routing id, or one naming no agent),
 * sent to the coordinator's hub and to an agent's mesh socket, are dropped and counted: the run
 * goes on and the real messages that follow arrive intact. */
START_TEST(test_stranger_frames_dropped) {
    int kind = B_ZMQ_IPC + _i;
    char dir[64], want[128], ep[256];
    snprintf(dir, sizeof dir, "/tmp/dgcn-comm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    if (kind == B_ZMQ_IPC) snprintf(want, sizeof want, "ipc://%s/hub.sock", dir);
    else snprintf(want, sizeof want, "tcp://127.0.0.1:0");
    dgcn_hub *h = NULL;
    ck_assert_msg(dgcn_zmq_hub_open(want, 4, RUN_ID, 1000, ep, sizeof ep, &h) == DGCN_OK, "%s",
                  dgcn_error_msg());
    dgcn_curve_creds c0;
    int has = 0;
    ck_assert_int_eq(dgcn_hub_credentials(h, 0, &c0, &has), DGCN_OK);
    dgcn_zmq_opts o = {0, 4, RUN_ID, 1000, ep, 0, has ? &c0 : NULL};
    dgcn_transport *t0 = NULL;
    ck_assert_msg(dgcn_zmq_open(&o, &t0) == DGCN_OK, "%s", dgcn_error_msg());
    void *ctx = zmq_ctx_new();
    int linger = 0;
    void *anon = zmq_socket(ctx, ZMQ_DEALER); /* the ROUTER gives it a random routing id */
    void *a9 = zmq_socket(ctx, ZMQ_DEALER);   /* names agent 9 of a 4-agent run */
    zmq_setsockopt(anon, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(a9, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(a9, ZMQ_ROUTING_ID, "a9", 2);
    ck_assert_int_eq(zmq_connect(anon, ep), 0);
    ck_assert_int_eq(zmq_connect(a9, ep), 0);
    ck_assert_int_eq(zmq_send(anon, "junk", 4, 0), 4);
    ck_assert_int_eq(zmq_send(a9, "junk", 4, 0), 4);
    /* let both frames reach the hub before the real one */
    for (int k = 0; k < 100 && h->traffic.dropped < 2; k++) {
        int32_t a = -1;
        void *buf = NULL;
        size_t len = 0;
        ck_assert_int_eq(dgcn_hub_recv_any(h, &a, &buf, &len, 10), DGCN_ETIMEDOUT);
    }
    /* over tcp the strangers' handshakes are refused (and each reconnection again): counted */
    if (kind == B_ZMQ_TCP) ck_assert_uint_ge(h->traffic.dropped, 2);
    else ck_assert_int_eq(h->traffic.dropped, 2);
    ck_assert_int_eq(dgcn_transport_send_coord(t0, "ok", 3), DGCN_OK);
    int32_t a = -1;
    void *buf = NULL;
    size_t len = 0;
    ck_assert_msg(dgcn_hub_recv_any(h, &a, &buf, &len, -1) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(a == 0 && len == 3 && memcmp(buf, "ok", 3) == 0);
    free(buf);
    zmq_close(anon);
    zmq_close(a9);
    zmq_ctx_term(ctx);
    dgcn_transport_close(&t0);
    dgcn_hub_close(&h);
    s_rm_dir(dir);

    /* an agent's mesh socket: the stranger's frame is dropped, the neighbour's is received */
    fake z;
    fake_open(&z, kind, 1);
    void *stranger = zmq_socket(z.ctx, ZMQ_DEALER);
    zmq_setsockopt(stranger, ZMQ_LINGER, &linger, sizeof linger);
    char mesh[256];
    size_t msz = sizeof mesh;
    ck_assert_int_eq(zmq_getsockopt(z.peer[1], ZMQ_LAST_ENDPOINT, mesh, &msz), 0);
    if (kind == B_ZMQ_TCP) { /* a stranger with a valid keypair of its own */
        dgcn_curve_creds s;
        ck_assert_int_eq(zmq_curve_keypair(s.public_key, s.secret_key), 0);
        memcpy(s.coordinator_key, z.keys[0].public_key, 41); /* agent 0's mesh key: public */
        s_raw_client(stranger, &s);
    }
    ck_assert_int_eq(zmq_connect(stranger, mesh), 0);
    ck_assert_int_eq(zmq_send(stranger, "\xff\xff junk", 7, 0), 7);
    const float good[4] = {1.5f, -2.0f, 3.25f, 1e-3f};
    float mine[4] = {9, 9, 9, 9}, r[4] = {-7, -7, -7, -7};
    const float *sp[1] = {mine};
    float *rp[1] = {r};
    int32_t ln[1] = {4};
    dgcn_exchange x = {DGCN_CH_PARAMS, 9, 0, sp, ln, rp, ln, 0, NULL, NULL};
    /* only the stranger has sent: the exchange waits out its deadline, the frame dropped */
    int rc = dgcn_transport_exchange(z.t, &x);
    ck_assert_msg(rc == DGCN_ETIMEDOUT, "%s: got %s (%s)", s_backend_name[kind], dgcn_strerror(rc),
                  dgcn_error_msg());
    ck_assert_msg(kind == B_ZMQ_TCP ? z.t->traffic.dropped >= 1 : z.t->traffic.dropped == 1,
                  "%s: %d frames dropped", s_backend_name[kind], (int)z.t->traffic.dropped);
    for (int j = 0; j < 4; j++) ck_assert(r[j] == -7);
    fake_send(&z, RUN_ID, 1, 9, 4, good);
    rc = dgcn_transport_exchange(z.t, &x);
    ck_assert_msg(rc == DGCN_OK, "%s", dgcn_error_msg());
    for (int j = 0; j < 4; j++) ck_assert(r[j] == good[j]);
    zmq_close(stranger);
    fake_close(&z);
}
END_TEST

/* ---- CURVE over tcp: who may connect ---- */

/* A plain TCP relay for one connection, recording the bytes the client sends: what a process on
 * the path of an agent's connection could capture. */
typedef struct s_proxy {
    int lfd, port, up_port;
    pthread_t th;
    volatile int stop;
    uint8_t rec[1 << 16]; /* client -> server bytes */
    size_t n_rec;
} s_proxy;

static int s_tcp_listen(int *port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(listen(fd, 4), 0);
    socklen_t len = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &len);
    *port = ntohs(a.sin_port);
    return fd;
}

static int s_tcp_connect(int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static int s_port_of(const char *ep) { return atoi(strrchr(ep, ':') + 1); }

/* Sends bytes on a fresh TCP connection to port, reads what the server answers until it closes
 * (at most 2 s), then closes: one connection, refused by the server. */
static void s_raw_refused(int port, const void *bytes, size_t n) {
    int fd = s_tcp_connect(port);
    ck_assert_int_eq(write(fd, bytes, n), (ssize_t)n);
    uint8_t sink[512];
    struct pollfd f = {fd, POLLIN, 0};
    double t0 = dgcn_now_ms();
    while (dgcn_now_ms() - t0 < 2000 && poll(&f, 1, 100) >= 0) {
        if (!f.revents) continue;
        if (read(fd, sink, sizeof sink) <= 0) break;
    }
    close(fd);
}

/* Lets the hub look at its socket for ms milliseconds (no agent sends anything). */
static void s_hub_idle(dgcn_hub *h, int ms) {
    for (int k = 0; k < ms / 50; k++) {
        int32_t a = -1;
        void *buf = NULL;
        size_t len = 0;
        ck_assert_int_eq(dgcn_hub_recv_any(h, &a, &buf, &len, 50), DGCN_ETIMEDOUT);
    }
}

/* CURVE over tcp: every refused connection is one dropped frame, whatever it sent: raw garbage
 * (no ZMTP greeting: refused before any handshake) and a ZMTP 3.0 greeting asking for the NULL
 * mechanism (refused at the mechanism) each count exactly once. */
START_TEST(test_curve_refused_counted_once) {
    dgcn_hub *h = NULL;
    char ep[256];
    ck_assert_msg(dgcn_zmq_hub_open("tcp://127.0.0.1:0", 2, RUN_ID, 1000, ep, sizeof ep, &h) ==
                      DGCN_OK,
                  "%s", dgcn_error_msg());
    int port = s_port_of(ep);
    s_hub_idle(h, 200);
    ck_assert_uint_eq(h->traffic.dropped, 0);
    uint8_t greet[64] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L'};
    s_raw_refused(port, greet, sizeof greet);
    s_hub_idle(h, 300);
    ck_assert_msg(h->traffic.dropped == 1, "a NULL handshake: %d dropped (want 1)",
                  (int)h->traffic.dropped);
    const char garbage[] = "GET / HTTP/1.0\r\n\r\n not zmtp at all";
    s_raw_refused(port, garbage, sizeof garbage - 1);
    s_hub_idle(h, 300);
    ck_assert_msg(h->traffic.dropped == 2,
                  "a NULL handshake, then raw garbage: %d dropped (want 2)",
                  (int)h->traffic.dropped);
    dgcn_hub_close(&h);
    dgcn_curve_forget_all();
}
END_TEST

static void *s_proxy_main(void *arg) {
    s_proxy *p = arg;
    struct pollfd lp = {p->lfd, POLLIN, 0};
    if (poll(&lp, 1, 5000) != 1) return NULL;
    int c = accept(p->lfd, NULL, NULL), u = s_tcp_connect(p->up_port);
    uint8_t buf[4096];
    while (!p->stop) {
        struct pollfd f[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
        if (poll(f, 2, 20) <= 0) continue;
        if (f[0].revents) {
            ssize_t n = read(c, buf, sizeof buf);
            if (n <= 0) break;
            if (p->n_rec + (size_t)n <= sizeof p->rec) memcpy(p->rec + p->n_rec, buf, (size_t)n);
            if (p->n_rec + (size_t)n <= sizeof p->rec) p->n_rec += (size_t)n;
            if (write(u, buf, (size_t)n) != n) break;
        }
        if (f[1].revents) {
            ssize_t n = read(u, buf, sizeof buf);
            if (n <= 0 || write(c, buf, (size_t)n) != n) break;
        }
    }
    close(c);
    close(u);
    return NULL;
}

/* A zmq DEALER with routing id `id` connected to ep: no CURVE (keys NULL) or a CURVE client
 * with a fresh keypair that belongs to no agent of the run and the server's real public key. */
static void *s_intruder(void *ctx, const char *ep, const char *server_key, const char *id) {
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int linger = 0;
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id));
    if (server_key) {
        dgcn_curve_creds c;
        ck_assert_int_eq(zmq_curve_keypair(c.public_key, c.secret_key), 0);
        memcpy(c.coordinator_key, server_key, 41);
        s_raw_client(s, &c);
    }
    char addr[256];
    snprintf(addr, sizeof addr, "%s", ep);
    if (strchr(addr, ' ')) *strchr(addr, ' ') = '\0'; /* "ADDR curve:KEY" */
    ck_assert_int_eq(zmq_connect(s, addr), 0);
    return s;
}

/* Sends a coordinator message as agent `agent` would (its hello). */
static void s_send_as(void *s, int32_t agent, const char *text) {
    Dgcnpb__CoordMsg m = DGCNPB__COORD_MSG__INIT;
    uint8_t frame[256];
    m.run_id = RUN_ID;
    m.agent = agent;
    m.body.len = strlen(text) + 1;
    m.body.data = (uint8_t *)(uintptr_t)text;
    size_t n = dgcnpb__coord_msg__pack(&m, frame);
    zmq_send(s, frame, n, ZMQ_DONTWAIT);
}

/* Waits (at most 5 s) until the hub has counted more than `than` refused handshakes or dropped
 * frames; the hub
 * hears nothing meanwhile. */
static void s_wait_refused(dgcn_hub *h, uint64_t than) {
    for (int k = 0; k < 500 && h->traffic.dropped <= than; k++) {
        int32_t a = -1;
        void *buf = NULL;
        size_t len = 0;
        int rc = dgcn_hub_recv_any(h, &a, &buf, &len, 10);
        ck_assert_msg(rc == DGCN_ETIMEDOUT, "the hub heard agent %d: %s", a, dgcn_error_msg());
    }
    ck_assert_msg(h->traffic.dropped > than, "nothing refused or dropped");
}

enum { CV_NO_KEYS, CV_WRONG_KEYS, CV_REPLAY, CV_RACE, CV_OTHER_ID, CV_COUNT };
static const char *s_cv_name[CV_COUNT] = {"no keys", "wrong keys", "replay", "start-up race",
                                          "key of another agent"};

/* tcp: a client without keys, one with a valid keypair of no agent of the run, a replay of a real
 * agent's captured connection, and a stranger that says hello as agent 3 before agent 3 does: none
 * gets a byte of data (no set-up), none is heard by the hub, each refusal is counted, and the real
 * agent 3 gets its set-up intact. A client with agent 1's own keys that claims to be agent 2
 * (routing id and header) is not heard either: its frames are dropped and counted. */
START_TEST(test_curve_hub_guard) {
    int cv = _i;
    dgcn_hub *h = NULL;
    char ep[256], pep[64];
    ck_assert_msg(dgcn_hub_open("tcp://127.0.0.1:0", 4, RUN_ID, 1000, ep, sizeof ep, &h) == DGCN_OK,
                  "%s", dgcn_error_msg());
    s_store_keys(h);
    dgcn_curve_creds c3;
    int has = 0;
    ck_assert_int_eq(dgcn_hub_credentials(h, 3, &c3, &has), DGCN_OK);
    const char *server_key = has ? c3.coordinator_key : NULL; /* public, as any client sees it */
    void *ctx = zmq_ctx_new(), *evil = NULL;
    if (cv == CV_NO_KEYS || cv == CV_RACE) { /* first on the scene, as agent 3 */
        evil = s_intruder(ctx, ep, cv == CV_RACE ? server_key : NULL, "a3");
        s_send_as(evil, 3, "hello from 3");
        s_wait_refused(h, 0);
    }
    s_proxy px;
    memset(&px, 0, sizeof px);
    const char *coord = ep;
    if (cv == CV_REPLAY) { /* agent 3's connection runs through a recording relay */
        px.up_port = s_port_of(ep);
        px.lfd = s_tcp_listen(&px.port);
        ck_assert_int_eq(pthread_create(&px.th, NULL, s_proxy_main, &px), 0);
        snprintf(pep, sizeof pep, "tcp://127.0.0.1:%d", px.port);
        coord = pep;
    }
    dgcn_transport *t3 = NULL;
    ck_assert_msg(dgcn_transport_open(coord, 3, 4, RUN_ID, 2000, &t3) == DGCN_OK, "%s",
                  dgcn_error_msg());
    ck_assert_int_eq(dgcn_transport_send_coord(t3, "hello from 3", 13), DGCN_OK);
    int32_t a = -1;
    void *buf = NULL;
    size_t len = 0;
    ck_assert_msg(dgcn_hub_recv_any(h, &a, &buf, &len, 5000) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(a == 3 && len == 13 && !memcmp(buf, "hello from 3", 13));
    free(buf);
    uint64_t dropped = h->traffic.dropped;
    if (cv == CV_OTHER_ID && has) { /* agent 1's admitted key, routing id and header of agent 2 */
        dgcn_curve_creds c1;
        ck_assert_int_eq(dgcn_hub_credentials(h, 1, &c1, &has), DGCN_OK);
        evil = zmq_socket(ctx, ZMQ_DEALER);
        int linger = 0;
        zmq_setsockopt(evil, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(evil, ZMQ_ROUTING_ID, "a2", 2);
        s_raw_client(evil, &c1);
        ck_assert_int_eq(zmq_connect(evil, ep), 0);
        s_send_as(evil, 2, "hello from 2");
        s_wait_refused(h, dropped);
    }
    if (cv == CV_WRONG_KEYS) { /* a valid keypair of no agent, claiming agent 1 (not connected) */
        evil = s_intruder(ctx, ep, server_key, "a1");
        s_send_as(evil, 1, "hello from 1");
        s_wait_refused(h, dropped);
    }
    /* the set-up: agent 3's private data */
    uint8_t setup[4096];
    s_fill(setup, sizeof setup, 5);
    ck_assert_msg(dgcn_hub_send(h, 3, setup, sizeof setup) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_transport_recv_coord(t3, &buf, &len, 5000) == DGCN_OK, "%s",
                  dgcn_error_msg());
    ck_assert(len == sizeof setup && !memcmp(buf, setup, len));
    free(buf);
    if (cv == CV_WRONG_KEYS) /* agent 1 never connected: nobody to send its set-up to */
        ck_assert_int_eq(dgcn_hub_send(h, 1, setup, sizeof setup), DGCN_ETIMEDOUT);
    if (evil) {
        zmq_pollitem_t it = {evil, 0, ZMQ_POLLIN, 0};
        ck_assert_msg(zmq_poll(&it, 1, 300) == 0, "%s: the intruder received data", s_cv_name[cv]);
    }
    if (cv == CV_REPLAY) {
        dgcn_transport_close(&t3);
        px.stop = 1;
        pthread_join(px.th, NULL);
        close(px.lfd);
        ck_assert_uint_gt(px.n_rec, 0);
        /* the hub lets go of agent 3's closed connection, whose routing id the replay claims (its
         * socket does so while it waits) */
        for (int k = 0; k < 5; k++) {
            int32_t who = -1;
            ck_assert_int_eq(dgcn_hub_recv_any(h, &who, &buf, &len, 100), DGCN_ETIMEDOUT);
        }
        dropped = h->traffic.dropped;
        /* the captured bytes, paced as a ZMTP client paces its greeting: signature (10 bytes),
         * major version (1), the rest of the greeting (to 64), then everything else; each step
         * once the server has sent as much */
        int fd = s_tcp_connect(s_port_of(ep));
        const size_t step[4] = {10, 11, 64, px.n_rec};
        size_t got = 0, sent = 0;
        uint8_t sink[4096];
        struct pollfd f = {fd, POLLIN, 0};
        for (int st = 0; st < 4; st++) {
            size_t upto = step[st] < px.n_rec ? step[st] : px.n_rec;
            if (upto > sent)
                ck_assert_int_eq(write(fd, px.rec + sent, upto - sent), (ssize_t)(upto - sent));
            sent = upto > sent ? upto : sent;
            while ((st == 3 || got < step[st]) && poll(&f, 1, 500) == 1) {
                ssize_t n = read(fd, sink, sizeof sink);
                if (n <= 0) break;
                got += (size_t)n;
            }
        }
        close(fd);
        ck_assert_uint_eq(sent, px.n_rec);
        /* the server's greeting and handshake at most, never the 4 KiB set-up */
        ck_assert_msg(got < 1024, "the replay received %zu bytes", got);
        s_wait_refused(h, dropped);
    }
    /* the hub heard no intruder */
    int rc = dgcn_hub_recv_any(h, &a, &buf, &len, 300);
    ck_assert_msg(rc == DGCN_ETIMEDOUT, "%s: the hub heard agent %d", s_cv_name[cv], a);
    ck_assert_uint_ge(h->traffic.dropped, 1);
    if (evil) zmq_close(evil);
    zmq_ctx_term(ctx);
    dgcn_transport_close(&t3);
    dgcn_hub_close(&h);
    dgcn_curve_forget_all();
}
END_TEST

typedef struct s_mjob {
    dgcn_transport *t;
    float mine[4], got[4];
    int rc;
} s_mjob;

static void *s_mjob_main(void *arg) {
    s_mjob *j = arg;
    const float *sp[1] = {j->mine};
    float *rp[1] = {j->got};
    int32_t ln[1] = {4};
    dgcn_exchange x = {DGCN_CH_PARAMS, 0, 0, sp, ln, rp, ln, 0, NULL, NULL};
    j->rc = dgcn_transport_exchange(j->t, &x);
    return NULL;
}

/* tcp: an agent's mesh admits only its neighbours' keys. Intruders (no keys; a keypair of no
 * agent) connect to agent 0's mesh as its neighbour 1 before the set-up has named any key, and
 * send forged parameters: their handshakes are refused once the neighbours are known, the real
 * neighbour's connection is the one heard, and agent 0 receives exactly agent 1's values. */
/* zmq, watch_loss: neighbour 1 sends its messages of exchanges 7 and 8 and then dies (its mesh
 * closes) before agent 0 reads them. Agent 0 finds it lost and drops what it had queued instead of
 * taking it for a neighbour two exchanges ahead; both exchanges complete with neighbour 2. */
START_TEST(test_zmq_lost_queued) {
    fake z;
    s_fake_watch = 1;
    fake_open(&z, B_ZMQ_IPC, 2);
    s_fake_watch = 0;
    const float v1[4] = {1, 1, 1, 1}, v2[4] = {2, 3, 4, 5}, mine[4] = {9, 9, 9, 9};
    fake_send_via(&z, 1, RUN_ID, 1, 7, 4, v1);
    fake_send_via(&z, 1, RUN_ID, 1, 8, 4, v1);
    zmq_close(z.sink[0]); /* neighbour 1's mesh: agent 0's link to it disconnects */
    z.sink[0] = NULL;
    /* the disconnect reaches the monitor (a fixed 300 ms was too short under load: the queued
     * message of exchange 7 was then read before the loss was known, as it should be) */
    for (int w = 0; w < 500 && dgcn_zmq_check_lost(z.t) == 0; w++)
        nanosleep(&(struct timespec){0, 20 * 1000 * 1000}, NULL);
    ck_assert_msg(z.t->n_lost == 1, "the closed link was not seen as lost within 10 s");
    for (int64_t it = 7; it <= 8; it++) {
        fake_send_via(&z, 2, RUN_ID, 2, it, 4, v2);
        float got[2][4] = {{0}};
        const float *sp[2] = {mine, mine};
        float *rp[2] = {got[0], got[1]};
        int32_t ln[2] = {4, 4};
        dgcn_exchange x = {DGCN_CH_PARAMS, it, 0, sp, ln, rp, ln, 0, NULL, NULL};
        ck_assert_msg(dgcn_transport_exchange(z.t, &x) == DGCN_OK, "exchange %d: %s", (int)it,
                      dgcn_error_msg());
        ck_assert(z.t->lost[0] == 1 && z.t->lost[1] == 0 && z.t->n_lost == 1);
        ck_assert(memcmp(got[1], v2, sizeof v2) == 0);
    }
    fake_close(&z);
}
END_TEST

START_TEST(test_curve_mesh_guard) {
    dgcn_hub *h = NULL;
    char ep[256], mesh[2][256];
    ck_assert_msg(dgcn_hub_open("tcp://127.0.0.1:0", 2, RUN_ID, 2000, ep, sizeof ep, &h) == DGCN_OK,
                  "%s", dgcn_error_msg());
    s_store_keys(h);
    dgcn_transport *t[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(dgcn_transport_open(ep, k, 2, RUN_ID, 2000, &t[k]), DGCN_OK);
        ck_assert_int_eq(dgcn_transport_bind(t[k], NULL, mesh[k], sizeof mesh[k]), DGCN_OK);
    }
    const char *key0 = strstr(mesh[0], " curve:") ? strstr(mesh[0], " curve:") + 7 : NULL;
    void *ctx = zmq_ctx_new();
    void *evil[2] = {s_intruder(ctx, mesh[0], NULL, "a1"), s_intruder(ctx, mesh[0], key0, "a1")};
    Dgcnpb__NeighborMsg m = DGCNPB__NEIGHBOR_MSG__INIT;
    const float forged[4] = {666, 666, 666, 666};
    m.run_id = RUN_ID;
    m.sender = 1;
    m.channel = DGCN_CH_PARAMS;
    m.length = 4;
    m.payload.len = sizeof forged;
    m.payload.data = (uint8_t *)(uintptr_t)forged;
    uint8_t frame[256];
    size_t n = dgcnpb__neighbor_msg__pack(&m, frame);
    for (int e = 0; e < 2; e++) zmq_send(evil[e], frame, n, ZMQ_DONTWAIT);
    nanosleep(&(struct timespec){0, 200 * 1000 * 1000},
              NULL); /* the intruders' handshakes wait for the set-up */
    int32_t nb0 = 1, nb1 = 0;
    const char *e0[1] = {mesh[1]}, *e1[1] = {mesh[0]};
    ck_assert_int_eq(dgcn_transport_connect(t[0], &nb0, e0, 1), DGCN_OK);
    ck_assert_int_eq(dgcn_transport_connect(t[1], &nb1, e1, 1), DGCN_OK);
    s_mjob j[2] = {{t[0], {1, 2, 3, 4}, {0}, -1}, {t[1], {5, 6, 7, 8}, {0}, -1}};
    pthread_t th[2];
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, s_mjob_main, &j[k]), 0);
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 2; k++)
        ck_assert_msg(j[k].rc == DGCN_OK, "agent %d: %s", k, dgcn_strerror(j[k].rc));
    for (int i = 0; i < 4; i++)
        ck_assert(j[0].got[i] == j[1].mine[i] && j[1].got[i] == j[0].mine[i]);
    for (int e = 0; e < 2; e++) {
        zmq_pollitem_t it = {evil[e], 0, ZMQ_POLLIN, 0};
        ck_assert_int_eq(zmq_poll(&it, 1, 0), 0);
    }
    ck_assert_uint_ge(t[0]->traffic.dropped, 2); /* both intruders refused */
    for (int e = 0; e < 2; e++) zmq_close(evil[e]);
    zmq_ctx_term(ctx);
    for (int k = 0; k < 2; k++) dgcn_transport_close(&t[k]);
    dgcn_hub_close(&h);
    dgcn_curve_forget_all();
}
END_TEST

/* Key files: written 0600, read back equal; a file group or others may read is refused naming the
 * file and its mode; garbled text is refused naming where it came from. */
START_TEST(test_curve_key_file) {
    char dir[64], path[128];
    snprintf(dir, sizeof dir, "/tmp/dgcn-comm-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/agent-2.key", dir);
    dgcn_curve_creds c, r;
    char coord_sec[41];
    c.agent = 2;
    ck_assert_int_eq(zmq_curve_keypair(c.public_key, c.secret_key), 0);
    ck_assert_int_eq(zmq_curve_keypair(c.coordinator_key, coord_sec), 0);
    ck_assert_int_eq(dgcn_curve_creds_write(path, &c), DGCN_OK);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    ck_assert_msg(dgcn_curve_creds_read(path, &r) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(r.agent == 2 && !strcmp(r.public_key, c.public_key) &&
              !strcmp(r.secret_key, c.secret_key) && !strcmp(r.coordinator_key, c.coordinator_key));
    ck_assert_int_eq(dgcn_curve_creds_write(path, &c), DGCN_EIO); /* never overwritten */
    ck_assert_int_eq(chmod(path, 0640), 0);
    ck_assert_int_eq(dgcn_curve_creds_read(path, &r), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), path) && strstr(dgcn_error_msg(), "mode 0640"), "%s",
                  dgcn_error_msg());
    ck_assert_int_eq(dgcn_curve_creds_parse("dgcn-curve-1 agent 2 public x", "VAR", &r),
                     DGCN_EFORMAT);
    ck_assert_msg(strstr(dgcn_error_msg(), "VAR"), "%s", dgcn_error_msg());
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- opening by address ---- */

/* Transport names map to hub addresses; addresses pass through; unknown schemes are refused,
 * naming them and listing the known ones. */
START_TEST(test_address) {
    char a[256], b[256];
    ck_assert_int_eq(dgcn_transport_address("inproc", NULL, NULL, a, sizeof a), DGCN_OK);
    ck_assert_int_eq(dgcn_transport_address("inproc", NULL, NULL, b, sizeof b), DGCN_OK);
    ck_assert_msg(!strncmp(a, "inproc://run-", 13) && strcmp(a, b), "%s, %s", a, b);
    ck_assert_int_eq(dgcn_transport_address("zmq", "/r/x", NULL, a, sizeof a), DGCN_OK);
    ck_assert_str_eq(a, "ipc:///r/x/coord.sock");
    ck_assert_int_eq(dgcn_transport_address("zmq", "/r/x", "127.0.0.1", a, sizeof a), DGCN_OK);
    ck_assert_str_eq(a, "tcp://127.0.0.1:0");
    ck_assert_int_eq(dgcn_transport_address("zmq", NULL, NULL, a, sizeof a), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "run directory"), "%s", dgcn_error_msg());
    char longdir[200];
    memset(longdir, 'd', sizeof longdir - 1);
    longdir[sizeof longdir - 1] = '\0';
    ck_assert_int_eq(dgcn_transport_address("zmq", longdir, NULL, a, sizeof a), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "too long"), "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_transport_address("mpi", NULL, NULL, a, sizeof a), DGCN_OK);
    ck_assert_str_eq(a, "mpi://");
    ck_assert_int_eq(dgcn_transport_address("tcp://10.1.2.3:5555", NULL, NULL, a, sizeof a),
                     DGCN_OK);
    ck_assert_str_eq(a, "tcp://10.1.2.3:5555");
    ck_assert_int_eq(dgcn_transport_address("pigeon://coop", "/r", NULL, a, sizeof a), DGCN_EINVAL);
    const char *msg = dgcn_error_msg();
    ck_assert_msg(strstr(msg, "'pigeon'") && strstr(msg, "inproc://NAME") &&
                      strstr(msg, "ipc://PATH") && strstr(msg, "tcp://HOST:PORT") &&
                      strstr(msg, "mpi://"),
                  "%s", msg);
    ck_assert_int_eq(dgcn_transport_lookup("zmq-ipc", NULL), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "'zmq-ipc'") &&
                      strstr(dgcn_error_msg(), "inproc, zmq, mpi"),
                  "%s", dgcn_error_msg());
    /* what each names: backend kind (config.json) and launcher */
    static const char *q[][3] = {{"inproc", "inproc", "tasks"},
                                 {"inproc://x", "inproc", "tasks"},
                                 {"zmq", "zmq", "processes"},
                                 {"ipc:///r/c.sock", "zmq", "processes"},
                                 {"tcp://h:1", "zmq", "processes"},
                                 {"mpi", "mpi", "job"},
                                 {"mpi://", "mpi", "job"}};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
        dgcn_transport_info info;
        ck_assert_int_eq(dgcn_transport_lookup(q[i][0], &info), DGCN_OK);
        ck_assert_str_eq(info.kind, q[i][1]);
        ck_assert_str_eq(info.launcher, q[i][2]);
        ck_assert_str_eq(dgcn_transport_kind(q[i][0]), q[i][1]);
    }
    ck_assert_str_eq(dgcn_transport_kind("nope"), "unknown");
    dgcn_hub *h = NULL;
    dgcn_transport *t = NULL;
    ck_assert_int_eq(dgcn_hub_open("pigeon://x", 2, RUN_ID, 100, NULL, 0, &h), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_transport_open("pigeon://x", 0, 2, RUN_ID, 100, &t), DGCN_EINVAL);
    ck_assert(h == NULL && t == NULL);
    /* transports that are not jobs: joining is a no-op */
    int argc = 1, rank = -1, size = -1;
    char *args[] = {"x", NULL}, **argv = args;
    ck_assert_int_eq(dgcn_transport_job_join("inproc://x", &argc, &argv, &rank, &size), DGCN_OK);
    ck_assert(rank == 0 && size == 1);
    ck_assert_int_eq(dgcn_transport_job_leave(), DGCN_OK);
}
END_TEST

typedef struct xjob {
    dgcn_transport *t;
    dgcn_exchange x;
    int rc;
} xjob;

static void *s_xjob(void *arg) {
    xjob *j = arg;
    j->rc = dgcn_transport_exchange(j->t, &j->x);
    return NULL;
}

/* In-place hand-over (dgcn_exchange.lend): 4 agents, complete graph, 30 params exchanges each, every
 * agent sending from three buffers in turn (rewriting one only after the second next exchange has
 * begun, as lend asks). What lent[i] points at holds neighbour i's message for that exchange; on
 * inproc it is the neighbour's own send buffer (no copy), elsewhere the receive buffer. */
#define LEND_N 33
typedef struct lend_job {
    dgcn_transport *t;
    int lends; /* dgcn_transport_lends(t) */
    float *buf[3];
    float recv[3][LEND_N];
    int fails;       /* wrong values */
    int not_inplace; /* inproc: lent[i] is not the sender's buffer */
    int rc;
    float *const *all_bufs[4]; /* every agent's three buffers, for the inproc identity check */
} lend_job;

static void *s_lend_main(void *arg) {
    lend_job *j = arg;
    dgcn_transport *t = j->t;
    int n = t->n_neighbors;
    const float *sp[3], *lent[3];
    float *rp[3];
    int32_t len[3];
    for (int it = 0; it < 30 && !j->rc; it++) {
        float *mine = j->buf[it % 3];
        for (int k = 0; k < LEND_N; k++) mine[k] = (float)(1000 * t->self + 10 * it + k);
        for (int i = 0; i < n; i++) {
            sp[i] = mine;
            rp[i] = j->lends ? NULL : j->recv[i];
            len[i] = LEND_N;
            lent[i] = NULL;
        }
        dgcn_exchange x = {DGCN_CH_PARAMS,       it,  0, sp,   len,
                           j->lends ? NULL : rp, len, 1, lent, NULL};
        j->rc = dgcn_transport_exchange(t, &x);
        if (j->rc) break;
        for (int i = 0; i < n; i++) {
            int32_t from = t->neighbors[i];
            for (int k = 0; k < LEND_N; k++)
                if (lent[i][k] != (float)(1000 * from + 10 * it + k)) j->fails++;
            if (j->lends && lent[i] != j->all_bufs[from][it % 3]) j->not_inplace++;
            if (!j->lends && lent[i] != rp[i]) j->not_inplace++;
        }
    }
    return NULL;
}

START_TEST(test_lend) {
    net w;
    net_open(&w, _i, 4, 1, 5000);
    static lend_job jobs[4];
    static float bufs[4][3][LEND_N];
    memset(jobs, 0, sizeof jobs);
    float *ptrs[4][3];
    for (int k = 0; k < 4; k++) {
        jobs[k].t = w.t[k];
        jobs[k].lends = dgcn_transport_lends(w.t[k]);
        ck_assert_int_eq(jobs[k].lends, _i == B_INPROC);
        for (int b = 0; b < 3; b++) {
            ptrs[k][b] = jobs[k].lends ? dgcn_transport_lend_buffer(w.t[k], LEND_N) : bufs[k][b];
            ck_assert_ptr_nonnull(ptrs[k][b]);
            jobs[k].buf[b] = ptrs[k][b];
        }
    }
    for (int k = 0; k < 4; k++)
        for (int q = 0; q < 4; q++) jobs[k].all_bufs[q] = ptrs[q];
    pthread_t th[4];
    for (int k = 0; k < 4; k++) pthread_create(&th[k], NULL, s_lend_main, &jobs[k]);
    for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(jobs[k].rc == DGCN_OK, "%s agent %d: %s", s_backend_name[_i], k,
                      dgcn_strerror(jobs[k].rc));
        ck_assert_msg(jobs[k].fails == 0, "%s agent %d: %d wrong values", s_backend_name[_i], k,
                      jobs[k].fails);
        ck_assert_msg(jobs[k].not_inplace == 0, "%s agent %d: %d hand-overs not where expected",
                      s_backend_name[_i], k, jobs[k].not_inplace);
    }
    net_close(&w);
}
END_TEST

/* inproc: a lent message its neighbour never takes (the neighbour stays out of the exchange) is
 * left queued when the exchange times out; closing the run then frees the fabric with it in a
 * mailbox, once (under ASan a second free of the descriptor is reported). */
START_TEST(test_lend_left_queued) {
    net w;
    net_open(&w, B_INPROC, 2, 1, 200);
    float *buf = dgcn_transport_lend_buffer(w.t[0], 4);
    ck_assert_ptr_nonnull(buf);
    const float *sp[1] = {buf}, *lent[1] = {NULL};
    int32_t len[1] = {4};
    dgcn_exchange x = {DGCN_CH_PARAMS, 0, 0, sp, len, NULL, len, 1, lent, NULL};
    ck_assert_int_eq(dgcn_transport_exchange(w.t[0], &x), DGCN_ETIMEDOUT);
    net_close(&w);
}
END_TEST

/* inproc: the mailbox pool stays bounded however long a run with in-place hand-overs lasts: 4
 * agents, complete graph, 400 lend exchanges each. Every message an agent took in place goes back
 * to its mailbox at its next exchange, so at most two per neighbour are out at once; an agent's
 * pool allocations (dgcn_traffic.allocations) stay under a bound set by the neighbour count, not
 * by the number of exchanges (messages never released would take a new descriptor for most of
 * the 400). Also checks the values as test_lend does. */
#define POOL_ITERS 400
typedef struct pool_job {
    dgcn_transport *t;
    float *buf[3];
    int fails;
    int rc;
    uint64_t alloc[POOL_ITERS]; /* t->traffic.allocations after each exchange */
} pool_job;

static void *s_pool_main(void *arg) {
    pool_job *j = arg;
    dgcn_transport *t = j->t;
    int n = t->n_neighbors;
    const float *sp[3], *lent[3];
    int32_t len[3];
    for (int it = 0; it < POOL_ITERS && !j->rc; it++) {
        float *mine = j->buf[it % 3];
        for (int k = 0; k < LEND_N; k++) mine[k] = (float)(1000 * t->self + it + k);
        for (int i = 0; i < n; i++) {
            sp[i] = mine;
            len[i] = LEND_N;
            lent[i] = NULL;
        }
        dgcn_exchange x = {DGCN_CH_PARAMS, it, 0, sp, len, NULL, len, 1, lent, NULL};
        j->rc = dgcn_transport_exchange(t, &x);
        if (j->rc) break;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < LEND_N; k++)
                if (lent[i][k] != (float)(1000 * t->neighbors[i] + it + k)) j->fails++;
        j->alloc[it] = t->traffic.allocations;
    }
    return NULL;
}

START_TEST(test_lend_pool_bounded) {
    net w;
    net_open(&w, B_INPROC, 4, 1, 5000);
    static pool_job jobs[4];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < 4; k++) {
        jobs[k].t = w.t[k];
        for (int b = 0; b < 3; b++) {
            jobs[k].buf[b] = dgcn_transport_lend_buffer(w.t[k], LEND_N);
            ck_assert_ptr_nonnull(jobs[k].buf[b]);
        }
    }
    pthread_t th[4];
    for (int k = 0; k < 4; k++) pthread_create(&th[k], NULL, s_pool_main, &jobs[k]);
    for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
    /* descriptors: 2 per neighbour, each one calloc; the registry array: a few reallocs */
    const uint64_t bound = 2 * 3 + 4;
    for (int k = 0; k < 4; k++) {
        ck_assert_msg(jobs[k].rc == DGCN_OK, "agent %d: %s", k, dgcn_strerror(jobs[k].rc));
        ck_assert_msg(jobs[k].fails == 0, "agent %d: %d wrong values", k, jobs[k].fails);
        ck_assert_msg(jobs[k].alloc[POOL_ITERS - 1] <= bound,
                      "agent %d: %llu pool allocations after %d exchanges (%llu after 20, %llu "
                      "after 200; at most %llu expected): in-place messages not released",
                      k, (unsigned long long)jobs[k].alloc[POOL_ITERS - 1], POOL_ITERS,
                      (unsigned long long)jobs[k].alloc[19], (unsigned long long)jobs[k].alloc[199],
                      (unsigned long long)bound);
    }
    net_close(&w);
}
END_TEST

/* inproc, lenders and copiers mixed: 3 agents, complete graph, 200 exchanges; agents 0 and 1 send
 * with lend from three rotating lend buffers, agent 2 copies from one buffer it rewrites every
 * exchange and receives into recv. Every agent gets every neighbour's exact bytes; a lender reads
 * a lender's message in place (its send buffer) but never the copier's send buffer (which the
 * copier may rewrite as soon as its exchange returns); the copier gets copies in recv. */
#define MIX_ITERS 200
typedef struct mix_job {
    dgcn_transport *t;
    int lend;
    float *buf[3];             /* lenders: three lend buffers; the copier: buf[0] */
    float recv[2][LEND_N];     /* the copier's receive buffers */
    float *const *all_bufs[3]; /* every agent's buffers */
    int fails, aliased, not_inplace, rc;
} mix_job;

static void *s_mix_main(void *arg) {
    mix_job *j = arg;
    dgcn_transport *t = j->t;
    int n = t->n_neighbors;
    const float *sp[2], *lent[2];
    float *rp[2];
    int32_t len[2];
    for (int it = 0; it < MIX_ITERS && !j->rc; it++) {
        float *mine = j->buf[j->lend ? it % 3 : 0];
        for (int k = 0; k < LEND_N; k++) mine[k] = (float)(1000 * t->self + it + k);
        for (int i = 0; i < n; i++) {
            sp[i] = mine;
            rp[i] = j->recv[i];
            len[i] = LEND_N;
            lent[i] = NULL;
        }
        dgcn_exchange x = {
            DGCN_CH_PARAMS,        it,  0, sp, len, j->lend ? NULL : rp, len, j->lend,
            j->lend ? lent : NULL, NULL};
        j->rc = dgcn_transport_exchange(t, &x);
        if (j->rc) break;
        for (int i = 0; i < n; i++) {
            int32_t from = t->neighbors[i];
            const float *got = j->lend ? lent[i] : rp[i];
            for (int k = 0; k < LEND_N; k++)
                if (got[k] != (float)(1000 * from + it + k)) j->fails++;
            if (j->lend && from == 2 && got == j->all_bufs[2][0]) j->aliased++;
            if (j->lend && from != 2 && got != j->all_bufs[from][it % 3]) j->not_inplace++;
        }
    }
    return NULL;
}

START_TEST(test_lend_mixed) {
    net w;
    net_open(&w, B_INPROC, 3, 1, 5000);
    static mix_job jobs[3];
    static float copier_buf[LEND_N];
    memset(jobs, 0, sizeof jobs);
    for (int k = 0; k < 3; k++) {
        jobs[k].t = w.t[k];
        jobs[k].lend = k < 2;
        for (int b = 0; b < 3; b++) {
            jobs[k].buf[b] = k < 2 ? dgcn_transport_lend_buffer(w.t[k], LEND_N) : copier_buf;
            ck_assert_ptr_nonnull(jobs[k].buf[b]);
        }
    }
    for (int k = 0; k < 3; k++)
        for (int q = 0; q < 3; q++) jobs[k].all_bufs[q] = jobs[q].buf;
    pthread_t th[3];
    for (int k = 0; k < 3; k++) pthread_create(&th[k], NULL, s_mix_main, &jobs[k]);
    for (int k = 0; k < 3; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 3; k++) {
        ck_assert_msg(jobs[k].rc == DGCN_OK, "agent %d: %s", k, dgcn_strerror(jobs[k].rc));
        ck_assert_msg(jobs[k].fails == 0, "agent %d (%s): %d wrong values", k,
                      jobs[k].lend ? "lends" : "copies", jobs[k].fails);
        ck_assert_msg(jobs[k].aliased == 0,
                      "agent %d: %d exchanges handed it the copier's own send buffer", k,
                      jobs[k].aliased);
        ck_assert_msg(jobs[k].not_inplace == 0, "agent %d: %d lender messages not in place", k,
                      jobs[k].not_inplace);
    }
    net_close(&w);
}
END_TEST

/* inproc://NAME: the hub creates the fabric; agents find it by name; it lives until the hub and
 * every endpoint are closed, and then the name is free again. */
START_TEST(test_inproc_named) {
    const char *addr = "inproc://named-test";
    dgcn_hub *h = NULL, *h2 = NULL;
    dgcn_transport *t[2] = {NULL, NULL}, *x = NULL;
    ck_assert_int_eq(dgcn_transport_open(addr, 0, 2, RUN_ID, 500, &x), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "dgcn_hub_open creates it"), "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_hub_open("inproc://", 2, RUN_ID, 500, NULL, 0, &h), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_hub_open(addr, 2, RUN_ID, 500, NULL, 0, &h), DGCN_OK);
    ck_assert_int_eq(dgcn_hub_open(addr, 2, RUN_ID, 500, NULL, 0, &h2), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "already open"), "%s", dgcn_error_msg());
    ck_assert_int_eq(dgcn_transport_open(addr, 0, 3, RUN_ID, 500, &x), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_transport_open(addr, 0, 2, RUN_ID + 1, 500, &x), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_transport_open(addr, 2, 2, RUN_ID, 500, &x), DGCN_EINVAL);
    ck_assert_ptr_null(x);
    for (int k = 0; k < 2; k++) {
        int32_t nb = 1 - k;
        const char *ep = "";
        ck_assert_int_eq(dgcn_transport_open(addr, k, 2, RUN_ID, 500, &t[k]), DGCN_OK);
        ck_assert_int_eq(dgcn_transport_connect(t[k], &nb, &ep, 1), DGCN_OK);
        ck_assert_int_eq(dgcn_transport_connect(t[k], &nb, &ep, 1), DGCN_EINVAL);
    }
    ck_assert_int_eq(dgcn_transport_open(addr, 1, 2, RUN_ID, 500, &x), DGCN_EINVAL);
    /* the hub goes first; the agents still exchange on the fabric */
    ck_assert_int_eq(dgcn_transport_send_coord(t[1], "hi", 2), DGCN_OK);
    dgcn_hub_close(&h);
    float v[2] = {1, 2}, r[2] = {0, 0};
    const float *sp[2][1] = {{&v[0]}, {&v[1]}};
    float *rp[2][1] = {{&r[0]}, {&r[1]}};
    int32_t len[1] = {1};
    xjob xj = {t[0], {DGCN_CH_PARAMS, 0, 0, sp[0], len, rp[0], len, 0, NULL, NULL}, -1};
    pthread_t th;
    ck_assert_int_eq(pthread_create(&th, NULL, s_xjob, &xj), 0);
    dgcn_exchange x1 = {DGCN_CH_PARAMS, 0, 0, sp[1], len, rp[1], len, 0, NULL, NULL};
    ck_assert_msg(dgcn_transport_exchange(t[1], &x1) == DGCN_OK, "%s", dgcn_error_msg());
    pthread_join(th, NULL);
    ck_assert_int_eq(xj.rc, DGCN_OK);
    ck_assert(r[0] == 2 && r[1] == 1);
    ck_assert_int_eq(dgcn_hub_open(addr, 2, RUN_ID, 500, NULL, 0, &h2), DGCN_EINVAL);
    dgcn_transport_close(&t[0]);
    ck_assert_int_eq(dgcn_hub_open(addr, 2, RUN_ID, 500, NULL, 0, &h2), DGCN_EINVAL);
    dgcn_transport_close(&t[1]);
    /* every reference is gone: the name is free */
    ck_assert_msg(dgcn_hub_open(addr, 2, RUN_ID, 500, NULL, 0, &h2) == DGCN_OK, "%s",
                  dgcn_error_msg());
    dgcn_hub_close(&h2);
}
END_TEST

/* ---- control protocol ---- */

static dgcn_ctl_msg s_roundtrip(const dgcn_ctl_msg *m, size_t *packed_len) {
    void *buf = NULL;
    size_t len = 0;
    ck_assert_msg(dgcn_ctl_pack(m, &buf, &len) == DGCN_OK, "%s", dgcn_error_msg());
    dgcn_ctl_msg o;
    ck_assert_msg(dgcn_ctl_unpack(buf, len, &o) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(o.kind, m->kind);
    /* every strict prefix is rejected */
    for (size_t cut = 0; cut < len; cut++) {
        dgcn_ctl_msg t;
        ck_assert_msg(dgcn_ctl_unpack(buf, cut, &t) == DGCN_EPROTO, "prefix %zu of %zu accepted",
                      cut, len);
        ck_assert_int_eq(t.kind, DGCN_CTL_NONE);
    }
    free(buf);
    if (packed_len) *packed_len = len;
    return o;
}

/* A config whose every field differs from its zero value (and from the others of its type). */
static dgcn_ctl_config s_full_config(void) {
    dgcn_ctl_config c;
    memset(&c, 0, sizeof c);
    c.mode = DGCN_CTL_MODE_TRAIN;
    c.model = DGCN_CTL_MODEL_MLP;
    c.n_dims = 3;
    c.dims[0] = 1433;
    c.dims[1] = 16;
    c.dims[2] = 7;
    c.dropout = 0.5f;
    c.weight_decay = 5e-4f;
    c.optimizer = DGCN_CTL_OPT_GT_ADAM;
    c.lr = 0.01;
    c.lr_decay = 250.5;
    c.lr_power = 0.75;
    c.grad_scale = 8;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.iterations = (int64_t)1 << 33;
    c.eval_every = 25;
    c.final_mixing = 3;
    c.init_seed = UINT64_MAX - 1;
    c.dropout_seed = 0x8000000000000001ULL;
    c.training = 1;
    c.report_params = 1;
    c.gossip_rounds = 7;
    c.init_per_agent = 1;
    c.dropout_per_agent = 1;
    c.checkpoint_every = 12;
    c.gossip_accel = DGCN_CTL_ACCEL_CHEBYSHEV;
    c.gossip_rho = 0.9375;
    c.task = DGCN_CTL_TASK_REGRESSION;
    c.batch = 32;
    c.batch_seed = UINT64_MAX - 5;
    snprintf(c.plan, sizeof c.plan, "/runs/train-20261127/plan");
    return c;
}

static void s_config_eq(const dgcn_ctl_config *a, const dgcn_ctl_config *b) {
    ck_assert_int_eq(a->mode, b->mode);
    ck_assert_int_eq(a->model, b->model);
    ck_assert_int_eq(a->n_dims, b->n_dims);
    for (int32_t i = 0; i < a->n_dims; i++) ck_assert_int_eq(a->dims[i], b->dims[i]);
    ck_assert(a->dropout == b->dropout && a->weight_decay == b->weight_decay);
    ck_assert_int_eq(a->optimizer, b->optimizer);
    ck_assert(a->lr == b->lr && a->lr_decay == b->lr_decay && a->lr_power == b->lr_power);
    ck_assert(a->grad_scale == b->grad_scale && a->beta1 == b->beta1 && a->beta2 == b->beta2 &&
              a->eps == b->eps);
    ck_assert(a->iterations == b->iterations && a->eval_every == b->eval_every &&
              a->final_mixing == b->final_mixing);
    ck_assert(a->init_seed == b->init_seed && a->dropout_seed == b->dropout_seed);
    ck_assert_int_eq(a->training, b->training);
    ck_assert_int_eq(a->report_params, b->report_params);
    ck_assert_int_eq(a->gossip_rounds, b->gossip_rounds);
    ck_assert_int_eq(a->init_per_agent, b->init_per_agent);
    ck_assert_int_eq(a->dropout_per_agent, b->dropout_per_agent);
    ck_assert(a->checkpoint_every == b->checkpoint_every);
    ck_assert_int_eq(a->gossip_accel, b->gossip_accel);
    ck_assert(a->gossip_rho == b->gossip_rho);
    ck_assert(a->task == b->task && a->batch == b->batch && a->batch_seed == b->batch_seed);
    ck_assert_str_eq(a->plan, b->plan);
}

START_TEST(test_control_roundtrip) {
    dgcn_ctl_msg m, o;
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_HELLO;
    m.u.hello = (dgcn_ctl_hello){RUN_ID, 3, "tcp://10.0.0.3:5001"};
    o = s_roundtrip(&m, NULL);
    ck_assert(o.u.hello.run_id == RUN_ID && o.u.hello.agent == 3);
    ck_assert_str_eq(o.u.hello.endpoint, "tcp://10.0.0.3:5001");
    dgcn_ctl_msg_fini(&o);

    int32_t nb[3] = {0, 2, 5};
    double mix[4] = {0.25, 0.25, 0.125, 0.375};
    char *eps[3] = {"ipc:///r/agent-0.sock", "ipc:///r/agent-2.sock", "ipc:///r/agent-5.sock"};
    dgcn_ctl_config cfg = s_full_config();
    uint8_t shard[300];
    s_fill(shard, sizeof shard, 5);
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_SETUP;
    double sched[2 * 4] = {0.5, 0.5, 0.0, 0.0, 0.5, 0.0, 0.0, 0.5};
    m.u.setup = (dgcn_ctl_setup){
        RUN_ID, 1, 6,     3, nb, mix, eps, cfg, shard, sizeof shard, "ipc:///r/agent-1.sock",
        NULL,   2, sched, 3};
    o = s_roundtrip(&m, NULL);
    const dgcn_ctl_setup *s = &o.u.setup;
    ck_assert(s->n_schedule == 2 && s->schedule_every == 3);
    ck_assert_int_eq(memcmp(s->schedule, sched, sizeof sched), 0);
    ck_assert(s->run_id == RUN_ID && s->agent == 1 && s->n_agents == 6 && s->n_neighbors == 3);
    ck_assert_int_eq(memcmp(s->neighbors, nb, sizeof nb), 0);
    ck_assert_int_eq(memcmp(s->mixing, mix, sizeof mix), 0);
    for (int i = 0; i < 3; i++) ck_assert_str_eq(s->neighbor_endpoints[i], eps[i]);
    ck_assert_int_eq(s->config.n_dims, 3); /* two layers */
    ck_assert(s->config.lr == 0.01);
    s_config_eq(&s->config, &cfg);
    ck_assert_uint_eq(s->shard_len, sizeof shard);
    ck_assert_int_eq(memcmp(s->shard, shard, sizeof shard), 0);
    ck_assert_str_eq(s->endpoint, "ipc:///r/agent-1.sock");
    dgcn_ctl_msg_fini(&o);
    ck_assert_int_eq(o.kind, DGCN_CTL_NONE);

    float params[5] = {0.5f, -1.25f, 3e-7f, 0, 42};
    double phases[2] = {1.5, 20.25};
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_REPORT;
    dgcn_ctl_report *r = &m.u.report;
    r->run_id = RUN_ID;
    r->agent = 2;
    r->iter = 1234567890123LL;
    for (int i = 0; i < DGCN_SPLITS; i++) {
        r->loss_sum[i] = 0.1 * (i + 1);
        r->abs_sum[i] = 0.3 * (i + 2); /* regression */
        r->correct[i] = 10 + i;
        r->count[i] = 100 + i;
    }
    for (int c = 0; c < DGCN_CH_COUNT; c++) {
        r->traffic.bytes[c] = (uint64_t)1 << (30 + c);
        r->traffic.messages[c] = (uint64_t)c * 7;
    }
    r->n_params = 5;
    r->params = params;
    r->n_phases = 2;
    r->phase_ms = phases;
    o = s_roundtrip(&m, NULL);
    const dgcn_ctl_report *q = &o.u.report;
    ck_assert(q->run_id == RUN_ID && q->agent == 2 && q->iter == 1234567890123LL);
    ck_assert_int_eq(memcmp(q->loss_sum, r->loss_sum, sizeof q->loss_sum), 0);
    ck_assert_int_eq(memcmp(q->abs_sum, r->abs_sum, sizeof q->abs_sum), 0);
    ck_assert_int_eq(memcmp(q->correct, r->correct, sizeof q->correct), 0);
    ck_assert_int_eq(memcmp(q->count, r->count, sizeof q->count), 0);
    ck_assert_int_eq(memcmp(&q->traffic, &r->traffic, sizeof q->traffic), 0);
    ck_assert(q->n_params == 5 && memcmp(q->params, params, sizeof params) == 0);
    ck_assert(q->n_phases == 2 && memcmp(q->phase_ms, phases, sizeof phases) == 0);
    dgcn_ctl_msg_fini(&o);
    /* link failures: none leave the field out (a report is the bytes it was before the field),
     * some come back per channel */
    size_t len0 = 0, len1 = 0;
    o = s_roundtrip(&m, &len0);
    dgcn_ctl_msg_fini(&o);
    r->link_failures[DGCN_CH_PARAMS] = 5;
    o = s_roundtrip(&m, &len1);
    ck_assert(o.u.report.link_failures[DGCN_CH_PARAMS] == 5 &&
              o.u.report.link_failures[DGCN_CH_HALO_FWD] == 0);
    dgcn_ctl_msg_fini(&o);
    ck_assert_uint_eq(len1, len0 + 2 + DGCN_CH_COUNT); /* tag, length, one byte per channel */
    void *buf = NULL;
    size_t len = 0;
    r->link_failures[DGCN_CH_PARAMS] = 0;
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_OK);
    Dgcnpb__ControlEnvelope *env = dgcnpb__control_envelope__unpack(NULL, len, buf);
    ck_assert(env && env->report && env->report->n_link_failures == 0);
    dgcnpb__control_envelope__free_unpacked(env, NULL);
    free(buf);
    /* lost neighbours: none leave the field out too, some come back in order */
    r->n_lost = 2;
    r->lost[0] = 3, r->lost[1] = 7;
    o = s_roundtrip(&m, &len1);
    ck_assert(o.u.report.n_lost == 2 && o.u.report.lost[0] == 3 && o.u.report.lost[1] == 7);
    dgcn_ctl_msg_fini(&o);
    ck_assert_uint_eq(len1, len0 + 4); /* tag, length, one byte per agent id */
    r->n_lost = 0;

    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_CONTROL;
    m.u.control = (dgcn_ctl_control){DGCN_CMD_ABORT, 77};
    o = s_roundtrip(&m, NULL);
    ck_assert(o.u.control.cmd == DGCN_CMD_ABORT && o.u.control.iter == 77);
    dgcn_ctl_msg_fini(&o);

    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_ERROR;
    int32_t waiting[2] = {2, 7};
    m.u.error = (dgcn_ctl_error){.agent = 4,
                                 .iter = 19,
                                 .code = DGCN_ETIMEDOUT,
                                 .message = "agent 4: no message from neighbour 2"};
    o = s_roundtrip(&m, NULL);
    ck_assert(o.u.error.agent == 4 && o.u.error.iter == 19 && o.u.error.code == DGCN_ETIMEDOUT);
    ck_assert_str_eq(o.u.error.message, "agent 4: no message from neighbour 2");
    ck_assert(o.u.error.n_waiting_for == 0 && o.u.error.waiting_for == NULL);
    dgcn_ctl_msg_fini(&o);
    /* a timed-out exchange's error carries whom it waited for and how long */
    m.u.error.n_waiting_for = 2;
    m.u.error.waiting_for = waiting;
    m.u.error.waited_ms = 3000;
    o = s_roundtrip(&m, NULL);
    ck_assert(o.u.error.n_waiting_for == 2 && o.u.error.waiting_for[0] == 2 &&
              o.u.error.waiting_for[1] == 7 && o.u.error.waited_ms == 3000);
    dgcn_ctl_msg_fini(&o);
}
END_TEST

/* A checkpoint's State, alone and inside a Setup (resume), comes back field for field; one
 * whose vector is shorter than its parameter count is refused. */
static void s_state_eq(const dgcn_ctl_state *a, const dgcn_ctl_state *b) {
    ck_assert(a->run_id == b->run_id && a->agent == b->agent && a->iter == b->iter);
    ck_assert(a->n_params == b->n_params && a->n_vec == b->n_vec);
    ck_assert_int_eq(memcmp(a->vec, b->vec, (size_t)a->n_vec * sizeof *a->vec), 0);
    ck_assert_int_eq(memcmp(a->counters, b->counters, sizeof a->counters), 0);
    ck_assert_int_eq(memcmp(&a->traffic, &b->traffic, sizeof a->traffic), 0);
    ck_assert_int_eq(memcmp(a->relayed, b->relayed, sizeof a->relayed), 0);
}

START_TEST(test_state_roundtrip) {
    float vec[7] = {0.5f, -1.25f, 3e-7f, 0, 42, -0.0f, 1e30f};
    dgcn_ctl_msg m, o;
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_STATE;
    dgcn_ctl_state *st = &m.u.state;
    *st = (dgcn_ctl_state){.run_id = RUN_ID,
                           .agent = 5,
                           .iter = 1LL << 35,
                           .n_params = 3,
                           .n_vec = 7,
                           .vec = vec,
                           .counters = {1, 123456789012LL}};
    for (int c = 0; c < DGCN_CH_COUNT; c++) {
        st->traffic.bytes[c] = ((uint64_t)1 << (40 + c)) + 3;
        st->traffic.messages[c] = (uint64_t)c * 11 + 1;
        st->relayed[c] = (uint64_t)c * 1000 + 5;
    }
    st->traffic.dropped = 9;
    o = s_roundtrip(&m, NULL);
    s_state_eq(&o.u.state, st);
    dgcn_ctl_msg_fini(&o);

    dgcn_ctl_msg sm;
    memset(&sm, 0, sizeof sm);
    sm.kind = DGCN_CTL_SETUP;
    sm.u.setup = (dgcn_ctl_setup){
        .run_id = RUN_ID, .agent = 5, .n_agents = 6, .config = s_full_config(), .state = st};
    o = s_roundtrip(&sm, NULL);
    ck_assert_ptr_nonnull(o.u.setup.state);
    s_state_eq(o.u.setup.state, st);
    dgcn_ctl_msg_fini(&o);
    sm.u.setup.state = NULL; /* a fresh start carries none */
    o = s_roundtrip(&sm, NULL);
    ck_assert_ptr_null(o.u.setup.state);
    dgcn_ctl_msg_fini(&o);

    void *buf = NULL;
    size_t len = 0;
    st->n_params = 8; /* more parameters than floats */
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_EINVAL);
    ck_assert_ptr_null(buf);
}
END_TEST

START_TEST(test_control_rejects) {
    dgcn_ctl_msg o;
    const uint8_t garbage[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02};
    ck_assert_int_eq(dgcn_ctl_unpack(garbage, sizeof garbage, &o), DGCN_EPROTO);
    ck_assert_int_eq(dgcn_ctl_unpack(garbage, DGCN_COORD_MAX_BYTES + 1, &o), DGCN_EPROTO);
    ck_assert_msg(strstr(dgcn_error_msg(), "exceeds"), "%s", dgcn_error_msg());
    /* a valid envelope whose command is unknown */
    const uint8_t bad_cmd[] = {0x22, 0x02, 0x08, 0x09}; /* control { kind: 9 } */
    ck_assert_int_eq(dgcn_ctl_unpack(bad_cmd, sizeof bad_cmd, &o), DGCN_EPROTO);
    /* setup whose mixing row does not match its neighbours */
    int32_t nb[2] = {1, 2};
    double mix[2] = {0.5, 0.5};
    Dgcnpb__Setup su = DGCNPB__SETUP__INIT;
    su.n_neighbors = 2;
    su.neighbors = nb;
    su.n_mixing = 2;
    su.mixing = mix;
    Dgcnpb__ControlEnvelope env = DGCNPB__CONTROL_ENVELOPE__INIT;
    env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_SETUP;
    env.setup = &su;
    uint8_t packed[256];
    size_t plen = dgcnpb__control_envelope__pack(&env, packed);
    ck_assert_int_eq(dgcn_ctl_unpack(packed, plen, &o), DGCN_EPROTO);
    ck_assert_msg(strstr(dgcn_error_msg(), "mixing weights"), "%s", dgcn_error_msg());
    /* pack refuses what it cannot represent */
    dgcn_ctl_msg m;
    void *buf = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof m);
    m.kind = 99;
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_EINVAL);
    m.kind = DGCN_CTL_CONTROL;
    m.u.control = (dgcn_ctl_control){42, 0};
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_EINVAL);
}
END_TEST

/* ---- the set-up's RunConfig on the wire ---- */

/* A RunConfig with every field present, built with the generated API; *pb points into dims. */
static void s_pb_full_config(Dgcnpb__RunConfig *pb, int32_t *dims /* (3) */) {
    dgcnpb__run_config__init(pb);
    dims[0] = 1433;
    dims[1] = 16;
    dims[2] = 7;
#define S_PUT(f, v) (pb->has_##f = 1, pb->f = (v))
    S_PUT(mode, DGCNPB__RUN_CONFIG__MODE__MODE_TRAIN);
    S_PUT(model, DGCNPB__RUN_CONFIG__MODEL__MODEL_GCN);
    pb->n_dims = 3;
    pb->dims = dims;
    S_PUT(dropout, 0.5f);
    S_PUT(weight_decay, 5e-4f);
    S_PUT(optimizer, DGCNPB__RUN_CONFIG__OPTIMIZER__OPTIMIZER_GT);
    S_PUT(lr, 5.0);
    S_PUT(lr_decay, 0.0);
    S_PUT(lr_power, 0.0);
    S_PUT(grad_scale, 0.0);
    S_PUT(beta1, 0.9);
    S_PUT(beta2, 0.999);
    S_PUT(eps, 1e-8);
    S_PUT(iterations, 100);
    S_PUT(eval_every, 10);
    S_PUT(final_mixing, 0);
    S_PUT(init_seed, 7);
    S_PUT(dropout_seed, 7);
    S_PUT(training, 0);
    S_PUT(report_params, 1);
    S_PUT(order, 1);
    S_PUT(gossip_rounds, 1);
    S_PUT(init_per_agent, 0);
    S_PUT(dropout_per_agent, 0);
    S_PUT(checkpoint_every, 0);
    S_PUT(gossip_accel, DGCNPB__RUN_CONFIG__GOSSIP_ACCEL__GOSSIP_ACCEL_NONE);
    S_PUT(gossip_rho, 0.0);
    S_PUT(task, DGCNPB__RUN_CONFIG__TASK__TASK_CLASSIFICATION);
    S_PUT(batch, 1);
    S_PUT(batch_seed, 1);
#undef S_PUT
    pb->plan = "";
    /* a field not listed above (a row added since) is present with the value 0 */
    for (unsigned i = 0; i < dgcnpb__run_config__descriptor.n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &dgcnpb__run_config__descriptor.fields[i];
        if (f->label == PROTOBUF_C_LABEL_OPTIONAL && f->type != PROTOBUF_C_TYPE_STRING)
            *(protobuf_c_boolean *)((char *)pb + f->quantifier_offset) = 1;
    }
}

/* Packs a setup for agent 0 of 1 (mixing row {1}) carrying cfg, and unpacks it into *o. */
static int s_unpack_with_config(Dgcnpb__RunConfig *cfg, dgcn_ctl_msg *o) {
    double mix[1] = {1.0};
    Dgcnpb__Setup su = DGCNPB__SETUP__INIT;
    su.run_id = RUN_ID;
    su.n_agents = 1;
    su.n_mixing = 1;
    su.mixing = mix;
    su.config = cfg;
    Dgcnpb__ControlEnvelope env = DGCNPB__CONTROL_ENVELOPE__INIT;
    env.body_case = DGCNPB__CONTROL_ENVELOPE__BODY_SETUP;
    env.setup = &su;
    uint8_t packed[1024];
    ck_assert_uint_le(dgcnpb__control_envelope__get_packed_size(&env), sizeof packed);
    size_t plen = dgcnpb__control_envelope__pack(&env, packed);
    return dgcn_ctl_unpack(packed, plen, o);
}

START_TEST(test_config_missing_field) {
    Dgcnpb__RunConfig full, cfg;
    int32_t dims[3];
    dgcn_ctl_msg o;
    s_pb_full_config(&full, dims);
    ck_assert_msg(s_unpack_with_config(&full, &o) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(o.u.setup.config.iterations, 100);
    dgcn_ctl_msg_fini(&o);
    ck_assert_int_eq(s_unpack_with_config(NULL, &o), DGCN_EPROTO);
    ck_assert_msg(strstr(dgcn_error_msg(), "no config"), "%s", dgcn_error_msg());
    /* each field of the descriptor left out in turn */
    const ProtobufCMessageDescriptor *d = &dgcnpb__run_config__descriptor;
    ck_assert_uint_eq(d->n_fields, DGCN_RUN_CONFIG_N_FIELDS);
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        cfg = full;
        char *base = (char *)&cfg;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) *(size_t *)(base + f->quantifier_offset) = 0;
        else if (f->type == PROTOBUF_C_TYPE_STRING) *(char **)(base + f->offset) = NULL;
        else *(protobuf_c_boolean *)(base + f->quantifier_offset) = 0;
        ck_assert_msg(s_unpack_with_config(&cfg, &o) == DGCN_EPROTO, "config without %s accepted",
                      f->name);
        char want[64];
        snprintf(want, sizeof want, "lacks field '%s'", f->name);
        ck_assert_msg(strstr(dgcn_error_msg(), want), "without %s: %s", f->name, dgcn_error_msg());
        ck_assert_int_eq(o.kind, DGCN_CTL_NONE);
    }
}
END_TEST

START_TEST(test_config_unknown_field) {
    Dgcnpb__RunConfig cfg;
    int32_t dims[3];
    dgcn_ctl_msg o;
    s_pb_full_config(&cfg, dims);
    /* field 1000 (varint 5): what a sender with a newer RunConfig would add (far above the
     * numbers in use, so adding a field does not make this one known) */
    uint8_t value[1] = {5};
    ProtobufCMessageUnknownField uf = {1000, PROTOBUF_C_WIRE_TYPE_VARINT, sizeof value, value};
    cfg.base.n_unknown_fields = 1;
    cfg.base.unknown_fields = &uf;
    ck_assert_int_eq(s_unpack_with_config(&cfg, &o), DGCN_EPROTO);
    ck_assert_msg(strstr(dgcn_error_msg(), "unknown field 1000"), "%s", dgcn_error_msg());
    ck_assert_int_eq(o.kind, DGCN_CTL_NONE);
    /* and the same config without it is fine */
    cfg.base.n_unknown_fields = 0;
    ck_assert_msg(s_unpack_with_config(&cfg, &o) == DGCN_OK, "%s", dgcn_error_msg());
    dgcn_ctl_msg_fini(&o);
}
END_TEST

START_TEST(test_config_pack_rejects) {
    dgcn_ctl_msg m;
    void *buf = NULL;
    size_t len = 0;
    memset(&m, 0, sizeof m);
    m.kind = DGCN_CTL_SETUP;
    m.u.setup.config = s_full_config();
    m.u.setup.config.n_dims = 0;
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "dims"), "%s", dgcn_error_msg());
    m.u.setup.config.n_dims = DGCN_CTL_MAX_DIMS + 1;
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_EINVAL);
    m.u.setup.config = s_full_config();
    memset(m.u.setup.config.plan, 'x', sizeof m.u.setup.config.plan);
    ck_assert_int_eq(dgcn_ctl_pack(&m, &buf, &len), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "plan"), "%s", dgcn_error_msg());
    ck_assert_ptr_null(buf);
}
END_TEST

/* ---- docs/running.md lists exactly RunConfig's fields ---- */

#define S_MAX_FIELDS 64

typedef struct s_names {
    int n;
    char name[S_MAX_FIELDS][64];
} s_names;

static int s_names_has(const s_names *s, const char *name) {
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->name[i], name)) return 1;
    return 0;
}

static void s_names_add(s_names *s, const char *name, size_t len) {
    ck_assert_int_lt(s->n, S_MAX_FIELDS);
    ck_assert_uint_lt(len, sizeof s->name[0]);
    memcpy(s->name[s->n], name, len);
    s->name[s->n][len] = '\0';
    s->n++;
}

static FILE *s_open_source(const char *rel) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", DGCN_SOURCE_DIR, rel);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f, "cannot open %s", path);
    return f;
}

/* The field names of `message RunConfig` (fields at its top level, not enum values). */
static void s_proto_fields(const char *rel, s_names *out) {
    FILE *f = s_open_source(rel);
    char line[1024];
    int depth = 0, in = 0;
    out->n = 0;
    while (fgets(line, sizeof line, f)) {
        char *c = strstr(line, "//");
        if (c) *c = '\0';
        char label[32], type[64], name[64];
        if (!in) {
            if (sscanf(line, " message %63s", name) == 1 && !strcmp(name, "RunConfig")) in = 1;
            else continue;
        } else if (depth == 1 &&
                   sscanf(line, " %31s %63s %63[A-Za-z0-9_]", label, type, name) == 3 &&
                   (!strcmp(label, "optional") || !strcmp(label, "required") ||
                    !strcmp(label, "repeated"))) {
            s_names_add(out, name, strlen(name));
        }
        for (char *p = line; *p; p++) depth += (*p == '{') - (*p == '}');
        if (in && depth == 0) break;
    }
    fclose(f);
    ck_assert_msg(in, "%s: no message RunConfig", rel);
}

/* The first column (`name`) of the table under the heading that starts with `heading`. */
static void s_doc_fields(const char *rel, const char *heading, s_names *out) {
    FILE *f = s_open_source(rel);
    char line[4096];
    int found = 0;
    out->n = 0;
    while (fgets(line, sizeof line, f)) {
        if (!found) {
            found = !strncmp(line, heading, strlen(heading));
            continue;
        }
        if (line[0] == '#') break; /* the next section */
        if (line[0] != '|') {
            if (out->n > 0) break; /* the table has ended */
            continue;
        }
        char *a = strchr(line, '`'), *b = a ? strchr(a + 1, '`') : NULL;
        char *bar = strchr(line + 1, '|');
        if (!a || !b || !bar || b > bar) continue; /* header, rule, or a row without a `name` */
        s_names_add(out, a + 1, (size_t)(b - a - 1));
    }
    fclose(f);
    ck_assert_msg(found, "%s: no heading '%s'", rel, heading);
}

START_TEST(test_config_doc_lists_fields) {
    s_names proto, doc;
    s_proto_fields("comm/config.proto", &proto);
    s_doc_fields("docs/running.md", "### Setup.config", &doc);
    ck_assert_int_eq(proto.n, (int)dgcnpb__run_config__descriptor.n_fields);
    char missing[2048] = "";
    for (int i = 0; i < proto.n; i++)
        if (!s_names_has(&doc, proto.name[i]))
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
                     " %s (in comm/config.proto, not in docs/running.md)", proto.name[i]);
    for (int i = 0; i < doc.n; i++)
        if (!s_names_has(&proto, doc.name[i]))
            snprintf(missing + strlen(missing), sizeof missing - strlen(missing),
                     " %s (in docs/running.md, not in comm/config.proto)", doc.name[i]);
    ck_assert_msg(!missing[0], "RunConfig fields:%s", missing);
}
END_TEST

/* ---- comm/run_config.h: one row per RunConfig field, every row on the wire ---- */

/* Every row of the table names a field of RunConfig (its protobuf-c descriptor) of a matching
 * label, and every field has its row. */
START_TEST(test_config_table_matches_proto) {
    const ProtobufCMessageDescriptor *d = &dgcnpb__run_config__descriptor;
    static const struct {
        const char *name;
        int repeated, string;
    } rows[] = {
#define S_ROW(name, kind, def, lo, hi, keep, path, cli)                                            \
    {#name, !strcmp(#kind, "DIMS"), !strcmp(#kind, "STR")},
        DGCN_RUN_CONFIG_FIELDS(S_ROW)
#undef S_ROW
    };
    ck_assert_int_eq(DGCN_RUN_CONFIG_N_FIELDS, (int)(sizeof rows / sizeof rows[0]));
    for (int i = 0; i < DGCN_RUN_CONFIG_N_FIELDS; i++) {
        const ProtobufCFieldDescriptor *f =
            protobuf_c_message_descriptor_get_field_by_name(d, rows[i].name);
        ck_assert_msg(f, "comm/run_config.h row %s has no field in comm/config.proto",
                      rows[i].name);
        ck_assert_msg((f->label == PROTOBUF_C_LABEL_REPEATED) == rows[i].repeated,
                      "%s: repeated in one, not the other", rows[i].name);
        ck_assert_msg((f->type == PROTOBUF_C_TYPE_STRING) == rows[i].string,
                      "%s: a string in one, not the other", rows[i].name);
    }
    for (unsigned k = 0; k < d->n_fields; k++) {
        int found = 0;
        for (int i = 0; i < DGCN_RUN_CONFIG_N_FIELDS; i++)
            found |= !strcmp(rows[i].name, d->fields[k].name);
        ck_assert_msg(found, "RunConfig field %s (%u) has no row in comm/run_config.h",
                      d->fields[k].name, d->fields[k].id);
    }
}
END_TEST

/* Changes row `name` of *c to another in-range value. */
#define S_POKE_INT(c, name, lo, hi) ((c)->name = (c)->name == (hi) ? (lo) : (hi))
#define S_POKE_I32 S_POKE_INT
#define S_POKE_I64 S_POKE_INT
#define S_POKE_ENUM S_POKE_INT
#define S_POKE_BOOL S_POKE_INT
#define S_POKE_U64(c, name, lo, hi) ((c)->name ^= 0xF0F0F0F0F0F0F0F1ULL)
#define S_POKE_F32(c, name, lo, hi) ((c)->name = (c)->name * 2.0f + 0.375f)
#define S_POKE_F64(c, name, lo, hi) ((c)->name = (c)->name * 2.0 + 0.375)
#define S_POKE_DIMS(c, name, lo, hi) ((c)->name[(c)->n_##name - 1] += 5)
#define S_POKE_STR(c, name, lo, hi) strcat((c)->name, "/poked")

/* Every row, changed alone, crosses pack and unpack unchanged, and the others with it. */
START_TEST(test_config_table_roundtrip) {
    int32_t nb[1] = {0};
    double mix[2] = {0.5, 0.5};
    int rows = 0;
    char diff[1024];
#define S_ROW(name, kind_, def, lo, hi, keep, path, cli)                                           \
    do {                                                                                           \
        dgcn_ctl_config base = s_full_config(), c = base;                                          \
        S_POKE_##kind_(&c, name, lo, hi);                                                          \
        dgcn_test_config_diff(&c, &base, diff, sizeof diff);                                       \
        ck_assert_msg(!strcmp(diff, " " #name), "poking %s changed:%s", #name, diff);              \
        dgcn_ctl_msg m, o;                                                                         \
        memset(&m, 0, sizeof m);                                                                   \
        m.kind = DGCN_CTL_SETUP;                                                                   \
        m.u.setup = (dgcn_ctl_setup){RUN_ID, 1, 2,    1,    nb, mix,  NULL, c,                     \
                                     NULL,   0, NULL, NULL, 0,  NULL, 0};                          \
        o = s_roundtrip(&m, NULL);                                                                 \
        dgcn_test_config_diff(&o.u.setup.config, &c, diff, sizeof diff);                           \
        ck_assert_msg(!diff[0], "%s changed: after pack and unpack,%s differ", #name, diff);       \
        dgcn_ctl_msg_fini(&o);                                                                     \
        rows++;                                                                                    \
    } while (0);
    DGCN_RUN_CONFIG_FIELDS(S_ROW)
#undef S_ROW
    ck_assert_int_eq(rows, DGCN_RUN_CONFIG_N_FIELDS);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"ring_exact", test_ring_exact, B_COUNT, 0},
        {"complete_exact", test_complete_exact, B_COUNT, 0},
        {"zero_length", test_zero_length, B_COUNT, 0},
        {"counters", test_counters, B_COUNT, 0},
        {"skip_links", test_skip_links, B_COUNT, 0},
        {"timeout", test_timeout_names_peer, B_COUNT, 0},
        {"bad_peer", test_bad_peer, B_COUNT * BAD_COUNT, 0},
        {"impersonation", test_impersonation, B_COUNT - B_ZMQ_IPC, 0},
        {"ahead_buffered", test_ahead_buffered, B_COUNT, 0},
        {"hub", test_hub, B_COUNT, 0},
        {"stranger_frames_dropped", test_stranger_frames_dropped, 2, 0},
        {"hub_forged", test_hub_forged, 2 * (B_COUNT - B_ZMQ_IPC), 0},
        {"curve_hub_guard", test_curve_hub_guard, CV_COUNT, 0},
        {"curve_mesh_guard", test_curve_mesh_guard, 1, 0},
        {"curve_key_file", test_curve_key_file, 1, 0},
        {"curve_refused_counted_once", test_curve_refused_counted_once, 0, 0},
        {"address", test_address, 0, 0},
        {"inproc_named", test_inproc_named, 0, 0},
        {"lend", test_lend, B_COUNT, 0},
        {"lend_left_queued", test_lend_left_queued, 0, 0},
        {"lend_pool_bounded", test_lend_pool_bounded, 0, 60},
        {"lend_mixed", test_lend_mixed, 0, 60},
        {"control_roundtrip", test_control_roundtrip, 1, 0},
        {"zmq_lost_queued", test_zmq_lost_queued, 0, 30},
        {"control_rejects", test_control_rejects, 1, 0},
        {"state_roundtrip", test_state_roundtrip, 0, 0},
        {"config_missing_field", test_config_missing_field, 0, 0},
        {"config_unknown_field", test_config_unknown_field, 0, 0},
        {"config_pack_rejects", test_config_pack_rejects, 0, 0},
        {"config_doc_lists_fields", test_config_doc_lists_fields, 0, 0},
        {"config_table_matches_proto", test_config_table_matches_proto, 0, 0},
        {"config_table_roundtrip", test_config_table_roundtrip, 0, 0},
    };
    return DGCN_TEST_SUITE("comm", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
