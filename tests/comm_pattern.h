/* tests/comm_pattern.h: the known traffic pattern of the transport conformance tests, shared by
 * tests/test_comm.c and tests/mpi_conformance.c. Every value a receiver expects is a function of
 * (sender, receiver, iteration, layer, channel, index), so it is computed independently of the
 * transport. */
#ifndef DGCN_TESTS_COMM_PATTERN_H
#define DGCN_TESTS_COMM_PATTERN_H

#include "comm/transport.h"
#include "core/error.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define TP_MAXN 8    /* neighbours at most */
#define TP_MAXLEN 64 /* floats per message at most */
#define TP_STEPS 5   /* exchanges per iteration */

/* The exchanges of one iteration: forward over two layers, backward over two, then params. */
static const int tp_step_channel[TP_STEPS] = {DGCN_CH_HALO_FWD, DGCN_CH_HALO_FWD, DGCN_CH_HALO_BWD,
                                              DGCN_CH_HALO_BWD, DGCN_CH_PARAMS};
static const int tp_step_layer[TP_STEPS] = {0, 1, 1, 0, 0};

/* Modes of tp_run (bits). */
enum { TP_ZERO_LEN = 1, TP_SKIP = 2 };

/* TP_SKIP: whether link {s, r} is left out of exchange (it, step): about a third of them, the same
 * at both ends, different on the links of one agent (dgcn_exchange.skip). */
static inline int tp_skip(int s, int r, int64_t it, int step) {
    int lo = s < r ? s : r, hi = s < r ? r : s;
    return (lo * 5 + hi * 3 + (int)(it % 1000) * 7 + step) % 3 == 0;
}

/* Floats sender s sends to receiver r (some are zero); zero_len forces 0. */
static inline int32_t tp_len(int s, int r, int64_t it, int step, int zero_len) {
    if (zero_len) return 0;
    return (int32_t)((s * 7 + r * 3 + it * 5 + step * 11) % 17) * (TP_MAXLEN / 16);
}

/* Element j of that message: exact in binary32. */
static inline float tp_val(int s, int r, int64_t it, int step, int j) {
    return (float)(s * 100000 + r * 10000 + (int)(it % 100) * 100 + step * 10) + (float)j * 0.25f;
}

/* Counters a pattern run produces (sent side). */
typedef struct tp_result {
    int fails;           /* mismatched values or failed exchanges */
    int rc;              /* first error code */
    char msg[512];       /* its detail */
    dgcn_traffic expect; /* independently computed totals */
    dgcn_traffic expect_link[TP_MAXN];
} tp_result;

/* Runs iters iterations of the pattern on t in mode (TP_* bits, 0: every link, lengths > 0 where
 * tp_len says); fills r. Skipped links must neither count nor write their receive buffer. */
static inline void tp_run(dgcn_transport *t, int64_t iters, int mode, tp_result *r) {
    static _Thread_local float sbuf[TP_MAXN][TP_MAXLEN], rbuf[TP_MAXN][TP_MAXLEN];
    const float *sp[TP_MAXN];
    float *rp[TP_MAXN];
    int32_t sl[TP_MAXN], rl[TP_MAXN];
    char skip[TP_MAXN];
    const int zero_len = mode & TP_ZERO_LEN;
    int n = t->n_neighbors;
    memset(r, 0, sizeof *r);
    for (int64_t it = 0; it < iters; it++) {
        for (int step = 0; step < TP_STEPS; step++) {
            int ch = tp_step_channel[step];
            for (int i = 0; i < n; i++) {
                int nb = t->neighbors[i];
                sl[i] = tp_len(t->self, nb, it, step, zero_len);
                rl[i] = tp_len(nb, t->self, it, step, zero_len);
                for (int j = 0; j < sl[i]; j++) sbuf[i][j] = tp_val(t->self, nb, it, step, j);
                for (int j = 0; j < TP_MAXLEN; j++) rbuf[i][j] = -1.0f;
                sp[i] = sbuf[i];
                rp[i] = rbuf[i];
                skip[i] = (mode & TP_SKIP) && tp_skip(t->self, nb, it, step);
                if (skip[i]) continue;
                uint64_t b = (uint64_t)sl[i] * 4;
                r->expect.bytes[ch] += b;
                r->expect.messages[ch] += 1;
                r->expect_link[i].bytes[ch] += b;
                r->expect_link[i].messages[ch] += 1;
            }
            dgcn_exchange x = {ch, it,   tp_step_layer[step],         sp, sl, rp, rl,
                               0,  NULL, mode & TP_SKIP ? skip : NULL};
            int rc = dgcn_transport_exchange(t, &x);
            if (rc) {
                r->fails++;
                if (!r->rc) {
                    r->rc = rc;
                    snprintf(r->msg, sizeof r->msg, "%s", dgcn_error_msg());
                }
                return;
            }
            for (int i = 0; i < n; i++) {
                int nb = t->neighbors[i];
                if (skip[i]) rl[i] = 0; /* nothing may arrive */
                for (int j = 0; j < rl[i]; j++)
                    if (rbuf[i][j] != tp_val(nb, t->self, it, step, j)) r->fails++;
                for (int j = rl[i]; j < TP_MAXLEN; j++)
                    if (rbuf[i][j] != -1.0f) r->fails++; /* nothing written past the length */
            }
        }
    }
}

/* Neighbours of agent k in a ring or complete graph of m agents (increasing). */
static inline int tp_neighbors(int topo_complete, int m, int k, int32_t *out) {
    int n = 0;
    for (int j = 0; j < m; j++) {
        if (j == k) continue;
        int d = (j - k + m) % m;
        if (topo_complete || d == 1 || d == m - 1) out[n++] = j;
    }
    return n;
}

#endif
