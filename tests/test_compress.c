/* tests/test_compress.c: the compression operators of nn/compress.h (top-k's contraction,
 * random-k's and quantization's unbiasedness, the wire form's size and round trip) and the
 * compressed gossip of nn/choco.h (consensus with error feedback, none without, exact gossip as
 * the limit, the average kept, checkpointed state). */
#include "core/error.h"
#include "core/rng.h"
#include "nn/choco.h"
#include "nn/compress.h"
#include "nn/consensus.h"
#include "tests/testutil.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_fill(float *x, int64_t n, uint64_t seed) {
    dgcn_rng r;
    dgcn_rng_seed(&r, seed, DGCN_STREAM_TEST);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(dgcn_rng_normal(&r) * (1.0 + (i % 7)));
}

static double s_norm2(const float *x, int64_t n) {
    double s = 0.0;
    for (int64_t i = 0; i < n; i++) s += (double)x[i] * x[i];
    return s;
}

/* Q(x) decoded into q (n). */
static void s_apply(int32_t kind, double amount, int scaled, const float *x, int64_t n,
                    uint64_t key, dgcn_compress_scratch *s, unsigned char *wire, float *q) {
    ck_assert_int_eq(dgcn_compress_encode(kind, amount, scaled, x, n, key, s, wire), DGCN_OK);
    memset(q, 0, (size_t)n * sizeof *q);
    ck_assert_int_eq(dgcn_compress_accumulate(kind, amount, scaled, wire, n, key, s, 1.0, q),
                     DGCN_OK);
}

START_TEST(test_parse) {
    int32_t kind;
    double a;
    char buf[32];
    ck_assert_int_eq(dgcn_compress_parse("topk:0.1", &kind, &a), DGCN_OK);
    ck_assert_int_eq(kind, DGCN_COMPRESS_TOPK);
    ck_assert(a == 0.1);
    dgcn_compress_format(kind, a, buf, sizeof buf);
    ck_assert_str_eq(buf, "topk:0.1");
    ck_assert_int_eq(dgcn_compress_parse("quant:8", &kind, &a), DGCN_OK);
    ck_assert_int_eq(kind, DGCN_COMPRESS_QUANT);
    ck_assert_int_eq(dgcn_compress_parse("randk:1", &kind, &a), DGCN_OK);
    ck_assert_int_eq(dgcn_compress_parse("none", &kind, &a), DGCN_OK);
    ck_assert_int_eq(kind, DGCN_COMPRESS_NONE);
    const char *bad[] = {"topk:0", "topk:1.5", "quant:0", "quant:17", "quant:2.5",
                         "randk",  "topk:",    "zip:3",   "topk:0.1x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(dgcn_compress_parse(bad[i], &kind, &a) == DGCN_EINVAL, "%s accepted", bad[i]);
    ck_assert_int_eq(dgcn_compress_wire_bytes(DGCN_COMPRESS_TOPK, 0.1, 1000), 800);
    ck_assert_int_eq(dgcn_compress_wire_bytes(DGCN_COMPRESS_RANDK, 0.1, 1000), 400);
    /* 1000 = 3 blocks of 256 and one of 232; 4 bits: 8 + 128 bytes, then 8 + 116 */
    ck_assert_int_eq(dgcn_compress_wire_bytes(DGCN_COMPRESS_QUANT, 4, 1000), 3 * 136 + 124);
    ck_assert_int_eq(dgcn_compress_wire_bytes(DGCN_COMPRESS_NONE, 0, 1000), 4000);
}
END_TEST

/* top-k keeps the k largest magnitudes exactly and is a contraction:
 * ||x - Q(x)||^2 <= (1 - k / n) ||x||^2. */
START_TEST(test_topk_contraction) {
    const int64_t sizes[] = {1, 7, 256, 1000, 4099};
    const double fr[] = {0.001, 0.01, 0.1, 0.37, 1.0};
    for (size_t a = 0; a < 5; a++)
        for (size_t b = 0; b < 5; b++) {
            const int64_t n = sizes[a];
            float *x = malloc((size_t)n * sizeof *x), *q = malloc((size_t)n * sizeof *q);
            unsigned char *w = malloc((size_t)dgcn_compress_wire_bytes(1, fr[b], n));
            dgcn_compress_scratch s;
            ck_assert_int_eq(dgcn_compress_scratch_new(&s, n), DGCN_OK);
            s_fill(x, n, 17 + a * 5 + b);
            if (n > 100) x[3] = x[5] = x[9] = 1000.0f; /* ties */
            s_apply(DGCN_COMPRESS_TOPK, fr[b], 0, x, n, 0, &s, w, q);
            const int64_t k = dgcn_compress_k(DGCN_COMPRESS_TOPK, fr[b], n);
            double minkept = INFINITY, maxdrop = 0.0, res = 0.0;
            int64_t kept = 0;
            for (int64_t i = 0; i < n; i++) {
                if (q[i] != 0.0f) {
                    ck_assert(q[i] == x[i]);
                    kept++;
                    if (fabs(x[i]) < minkept) minkept = fabs(x[i]);
                } else if (fabs(x[i]) > maxdrop) {
                    maxdrop = fabs(x[i]);
                }
                res += ((double)x[i] - q[i]) * ((double)x[i] - q[i]);
            }
            ck_assert_int_eq(kept, k);
            ck_assert_msg(maxdrop <= minkept, "dropped %g above kept %g", maxdrop, minkept);
            ck_assert_msg(res <= (1.0 - (double)k / n) * s_norm2(x, n) * (1 + 1e-12),
                          "n %lld F %g: residual %g > (1 - k/n) ||x||^2 = %g", (long long)n, fr[b],
                          res, (1.0 - (double)k / n) * s_norm2(x, n));
            dgcn_compress_scratch_free(&s);
            free(x);
            free(q);
            free(w);
        }
}
END_TEST

/* A corrupt top-k message (an index out of range) is refused, not written. */
START_TEST(test_topk_corrupt) {
    float x[16], q[16];
    unsigned char w[64];
    dgcn_compress_scratch s;
    ck_assert_int_eq(dgcn_compress_scratch_new(&s, 16), DGCN_OK);
    s_fill(x, 16, 3);
    ck_assert_int_eq(dgcn_compress_encode(DGCN_COMPRESS_TOPK, 0.25, 0, x, 16, 0, &s, w), DGCN_OK);
    uint32_t bad = 16;
    memcpy(w + 4, &bad, 4);
    memset(q, 0, sizeof q);
    ck_assert_int_eq(dgcn_compress_accumulate(DGCN_COMPRESS_TOPK, 0.25, 0, w, 16, 0, &s, 1.0, q),
                     DGCN_EPROTO);
    dgcn_compress_scratch_free(&s);
}
END_TEST

/* random-k scaled by n / k is unbiased: the mean of Q(x) over many keys is x; unscaled, the
 * expected residual is (1 - k / n) ||x||^2. The same key draws the same entries. */
START_TEST(test_randk_unbiased) {
    enum { n = 200, T = 20000 };
    const double fr = 0.1;
    float x[n], q[n];
    double mean[n] = {0}, res = 0.0;
    unsigned char w[4 * n], w2[4 * n];
    dgcn_compress_scratch s;
    ck_assert_int_eq(dgcn_compress_scratch_new(&s, n), DGCN_OK);
    s_fill(x, n, 5);
    for (int t = 0; t < T; t++) {
        s_apply(DGCN_COMPRESS_RANDK, fr, 1, x, n, dgcn_compress_key(1, 0, t, 0, 0), &s, w, q);
        for (int i = 0; i < n; i++) mean[i] += q[i] / (double)T;
        s_apply(DGCN_COMPRESS_RANDK, fr, 0, x, n, dgcn_compress_key(2, 0, t, 0, 0), &s, w, q);
        res += (s_norm2(x, n) - s_norm2(q, n)) / T; /* q is x on its support */
    }
    /* each entry: mean of T draws of (n/k) x_i w.p. k/n: std |x_i| sqrt((n/k - 1) / T) */
    for (int i = 0; i < n; i++) {
        double sd = fabs(x[i]) * sqrt((1.0 / fr - 1.0) / T);
        ck_assert_msg(fabs(mean[i] - x[i]) <= 5 * sd + 1e-6, "entry %d: mean %g, x %g (sd %g)", i,
                      mean[i], x[i], sd);
    }
    double want = (1.0 - fr) * s_norm2(x, n);
    ck_assert_msg(fabs(res - want) <= 0.02 * want, "residual %g, want %g", res, want);
    ck_assert_int_eq(dgcn_compress_encode(DGCN_COMPRESS_RANDK, fr, 0, x, n, 99, &s, w), DGCN_OK);
    ck_assert_int_eq(dgcn_compress_encode(DGCN_COMPRESS_RANDK, fr, 0, x, n, 99, &s, w2), DGCN_OK);
    ck_assert(memcmp(w, w2, 4 * 20) == 0);
    for (int i = 0; i < n; i++) ck_assert_int_eq(s.perm[i], i); /* the shuffle was undone */
    dgcn_compress_scratch_free(&s);
}
END_TEST

/* b-bit stochastic quantization is unbiased and within one step of x. */
START_TEST(test_quant_unbiased) {
    enum { n = 600, T = 2000 };
    const int bits[] = {1, 2, 4, 8, 16};
    for (int b = 0; b < 5; b++) {
        float x[n], q[n];
        double mean[n] = {0};
        unsigned char *w = malloc((size_t)dgcn_compress_wire_bytes(3, bits[b], n));
        dgcn_compress_scratch s;
        ck_assert_int_eq(dgcn_compress_scratch_new(&s, n), DGCN_OK);
        s_fill(x, n, 11 + b);
        for (int i = 512; i < n; i++) x[i] = 2.5f; /* a constant block: exact */
        double hmax = 0.0;
        for (int t = 0; t < T; t++) {
            s_apply(DGCN_COMPRESS_QUANT, bits[b], 0, x, n, dgcn_compress_key(3, 1, t, 0, 0), &s, w,
                    q);
            for (int i = 0; i < n; i++) {
                int blk = i / DGCN_QUANT_BLOCK;
                float lo, h;
                int64_t off = blk * dgcn_compress_wire_bytes(3, bits[b], DGCN_QUANT_BLOCK);
                memcpy(&lo, w + off, 4);
                memcpy(&h, w + off + 4, 4);
                if (h > hmax) hmax = h;
                ck_assert_msg(fabs((double)q[i] - x[i]) <= h * (1 + 1e-5) + 1e-6,
                              "bits %d entry %d: |%g - %g| > step %g", bits[b], i, q[i], x[i], h);
                mean[i] += q[i] / (double)T;
            }
        }
        for (int i = 0; i < n; i++) {
            double sd = hmax / 2 / sqrt((double)T);
            ck_assert_msg(fabs(mean[i] - x[i]) <= 5 * sd + 1e-5 * fabs(x[i]),
                          "bits %d entry %d: mean %g, x %g (sd %g)", bits[b], i, mean[i], x[i], sd);
        }
        for (int i = 512; i < n; i++) ck_assert(q[i] == 2.5f);
        dgcn_compress_scratch_free(&s);
        free(w);
    }
}
END_TEST

/* ---- compressed gossip on a ring: M agents, weights 1/3 (self, left, right) ---- */

enum { GM = 8, GN = 500 };

typedef struct gossip {
    dgcn_choco *c[GM];
    float x[GM][GN];
    float *wire[GM];
} gossip;

static void s_gossip_new(gossip *g, int32_t kind, double amount, double gamma, int feedback) {
    dgcn_compress_config cfg = {.kind = kind, .amount = amount, .gamma = gamma};
    for (int k = 0; k < GM; k++) {
        ck_assert_int_eq(dgcn_choco_new(&g->c[k], &cfg, GN / 2, 2, 42), DGCN_OK);
        dgcn_choco_set_feedback(g->c[k], feedback);
        g->wire[k] = calloc((size_t)dgcn_choco_wire_floats(g->c[k]), sizeof(float));
        s_fill(g->x[k], GN, 100 + k);
    }
}

static void s_gossip_free(gossip *g) {
    for (int k = 0; k < GM; k++) {
        dgcn_choco_destroy(&g->c[k]);
        free(g->wire[k]);
    }
}

/* One exchange of every agent. */
static void s_gossip_round(gossip *g, int64_t it) {
    const double row[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    for (int k = 0; k < GM; k++)
        ck_assert_int_eq(dgcn_choco_send(g->c[k], k, it, 0, g->x[k], row[0], g->wire[k]), DGCN_OK);
    for (int k = 0; k < GM; k++) {
        int32_t nb[2] = {(k + GM - 1) % GM, (k + 1) % GM};
        if (nb[0] > nb[1]) { /* neighbours in increasing order, as a transport lists them */
            int32_t t = nb[0];
            nb[0] = nb[1];
            nb[1] = t;
        }
        const float *recv[2] = {g->wire[nb[0]], g->wire[nb[1]]};
        ck_assert_int_eq(dgcn_choco_mix(g->c[k], it, 0, row, 2, nb, recv, g->x[k], g->x[k]),
                         DGCN_OK);
    }
}

/* Relative disagreement sum_k ||x_k - xbar||^2 / sum_k ||x_k||^2, and the mean in mean. */
static double s_disagreement(const gossip *g, double *mean) {
    double num = 0.0, den = 0.0;
    for (int i = 0; i < GN; i++) {
        double m = 0.0;
        for (int k = 0; k < GM; k++) m += g->x[k][i] / GM;
        if (mean) mean[i] = m;
        for (int k = 0; k < GM; k++) {
            num += (g->x[k][i] - m) * (g->x[k][i] - m);
            den += (double)g->x[k][i] * g->x[k][i];
        }
    }
    return num / den;
}

/* With error feedback every operator brings the copies to their average, which the gossip keeps;
 * without it (the messages themselves compressed), top-k and random-k stall far from consensus. */
START_TEST(test_choco_consensus) {
    const int32_t kinds[] = {DGCN_COMPRESS_TOPK, DGCN_COMPRESS_RANDK, DGCN_COMPRESS_QUANT};
    const double amounts[] = {0.1, 0.1, 4};
    for (int v = 0; v < 3; v++) {
        double mean0[GN], mean1[GN], d[2];
        for (int fb = 1; fb >= 0; fb--) {
            gossip g;
            s_gossip_new(&g, kinds[v], amounts[v], 0.0, fb);
            s_disagreement(&g, mean0);
            for (int it = 0; it < 600; it++) s_gossip_round(&g, it);
            d[fb] = s_disagreement(&g, mean1);
            double drift = 0.0;
            for (int i = 0; i < GN; i++) drift = fmax(drift, fabs(mean1[i] - mean0[i]));
            /* the correction sums to 0 over the agents; what moves is float rounding of
             * x, xhat and s over 600 rounds (entries up to about 20) */
            if (fb)
                ck_assert_msg(drift < 5e-3, "%s: the average moved by %g",
                              dgcn_compress_kind_name(kinds[v]), drift);
            s_gossip_free(&g);
        }
        fprintf(stderr,
                "%s:%g on a ring of %d, 600 rounds: disagreement %.2e with error feedback, "
                "%.2e without\n",
                dgcn_compress_kind_name(kinds[v]), amounts[v], GM, d[1], d[0]);
        ck_assert_msg(d[1] < 1e-6, "%s with error feedback: disagreement %g",
                      dgcn_compress_kind_name(kinds[v]), d[1]);
        if (kinds[v] != DGCN_COMPRESS_QUANT)
            ck_assert_msg(d[0] > 1e-2, "%s without error feedback: disagreement %g",
                          dgcn_compress_kind_name(kinds[v]), d[0]);
    }
}
END_TEST

/* top-k keeping everything with gamma 1 is exact gossip: x <- C x. */
/* One-bit quantization is refused by compressed gossip (not a contraction: it diverges whatever
 * gamma), not run into NaN. */
START_TEST(test_choco_refuses_one_bit) {
    dgcn_choco *c = NULL;
    dgcn_compress_config cfg = {.kind = DGCN_COMPRESS_QUANT, .amount = 1, .gamma = 0.05};
    ck_assert_int_eq(dgcn_choco_new(&c, &cfg, 100, 1, 1), DGCN_EINVAL);
    ck_assert_ptr_null(c);
    cfg.amount = 2;
    ck_assert_int_eq(dgcn_choco_new(&c, &cfg, 100, 1, 1), DGCN_OK);
    dgcn_choco_destroy(&c);
}
END_TEST

START_TEST(test_choco_exact_limit) {
    gossip g;
    s_gossip_new(&g, DGCN_COMPRESS_TOPK, 1.0, 1.0, 1);
    for (int it = 0; it < 5; it++) {
        float want[GM][GN];
        for (int k = 0; k < GM; k++)
            for (int i = 0; i < GN; i++)
                want[k][i] = (float)((g.x[(k + GM - 1) % GM][i] + (double)g.x[k][i] +
                                      g.x[(k + 1) % GM][i]) /
                                     3.0);
        s_gossip_round(&g, it);
        for (int k = 0; k < GM; k++)
            for (int i = 0; i < GN; i++)
                ck_assert_msg(fabsf(g.x[k][i] - want[k][i]) <= 1e-5f * (1 + fabsf(want[k][i])),
                              "round %d agent %d entry %d: %g, exact %g", it, k, i, g.x[k][i],
                              want[k][i]);
    }
    s_gossip_free(&g);
}
END_TEST

/* Saving the state after 7 rounds and loading it into fresh instances continues bit for bit. */
START_TEST(test_choco_state) {
    const int32_t kinds[] = {DGCN_COMPRESS_TOPK, DGCN_COMPRESS_RANDK, DGCN_COMPRESS_QUANT};
    const double amounts[] = {0.05, 0.2, 3};
    for (int v = 0; v < 3; v++) {
        gossip a, b;
        s_gossip_new(&a, kinds[v], amounts[v], 0.3, 1);
        s_gossip_new(&b, kinds[v], amounts[v], 0.3, 1);
        for (int it = 0; it < 7; it++) s_gossip_round(&a, it);
        for (int k = 0; k < GM; k++) {
            int64_t len = dgcn_choco_state_len(a.c[k]);
            ck_assert_int_eq(len, 2 * GN);
            float *st = malloc((size_t)len * sizeof *st);
            dgcn_choco_state_save(a.c[k], st);
            dgcn_choco_state_load(b.c[k], st);
            memcpy(b.x[k], a.x[k], sizeof a.x[k]);
            free(st);
        }
        for (int it = 7; it < 20; it++) {
            s_gossip_round(&a, it);
            s_gossip_round(&b, it);
        }
        ck_assert(memcmp(a.x, b.x, sizeof a.x) == 0);
        s_gossip_free(&a);
        s_gossip_free(&b);
    }
}
END_TEST

/* Every optimizer of nn/consensus.h runs on compressed gossip as the agent runs it (prepare, one
 * compressed exchange, mix with the self weight 1 on the combined message): 8 agents on a ring
 * minimizing sum_k 1/2 ||theta - b_k||^2 / M with top-k 0.3, whose minimizer is the mean of the
 * b_k. The exact methods reach it (gt 2.7e-4, ed 3.1e-3 relative after 3000 iterations); gt-adam
 * (a constant step) oscillates within about the step (1.8e-3); dgd and dgd-atc stay biased by
 * the b_k's spread, as without compression (0.6-0.7; diverging would exceed 1). */
START_TEST(test_choco_optimizers) {
    enum { P = 40, T = 3000 };
    const double one[1] = {1.0}, row[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    /* dgd, dgd-atc: biased by the b_k's spread (uncompressed too); diverging would exceed 1 */
    const double tol[5] = {1.0, 1.0, 1e-3, 1e-2, 1e-2};
    static float b[GM][P], theta[GM][P], grad[GM][P], msg[GM][2 * P], wire[GM][4 * P];
    double opt[P] = {0};
    for (int k = 0; k < GM; k++) {
        s_fill(b[k], P, 200 + k);
        for (int i = 0; i < P; i++) opt[i] += b[k][i] / GM;
    }
    for (int kind = 0; kind < 5; kind++) {
        dgcn_consensus *c[GM];
        dgcn_choco *q[GM];
        dgcn_consensus_config cc = dgcn_consensus_defaults(kind, kind == 3 ? 0.01 : 0.1);
        cc.grad_scale = GM;
        dgcn_compress_config qc = {.kind = DGCN_COMPRESS_TOPK, .amount = 0.3, .gamma = 0.0};
        const int segs = kind == 2 || kind == 3 ? 2 : 1;
        for (int k = 0; k < GM; k++) {
            ck_assert_int_eq(dgcn_consensus_new(&c[k], &cc, P), DGCN_OK);
            ck_assert_int_eq(dgcn_choco_new(&q[k], &qc, P, segs, 7), DGCN_OK);
            ck_assert_int_le(dgcn_choco_wire_floats(q[k]), 4 * P);
            memset(theta[k], 0, sizeof theta[k]);
        }
        for (int it = 0; it < T; it++) {
            for (int k = 0; k < GM; k++) {
                for (int i = 0; i < P; i++) grad[k][i] = (theta[k][i] - b[k][i]) / GM;
                ck_assert_int_eq(dgcn_consensus_prepare(c[k], it, theta[k], grad[k], msg[k]),
                                 DGCN_OK);
                ck_assert_int_eq(dgcn_choco_send(q[k], k, it, 0, msg[k], row[0], wire[k]), DGCN_OK);
            }
            for (int k = 0; k < GM; k++) {
                int32_t nb[2] = {(k + GM - 1) % GM, (k + 1) % GM};
                if (nb[0] > nb[1]) {
                    int32_t t = nb[0];
                    nb[0] = nb[1];
                    nb[1] = t;
                }
                const float *recv[2] = {wire[nb[0]], wire[nb[1]]};
                ck_assert_int_eq(dgcn_choco_mix(q[k], it, 0, row, 2, nb, recv, msg[k], msg[k]),
                                 DGCN_OK);
                ck_assert_int_eq(dgcn_consensus_mix_round(c[k], it, 0, grad[k], one, 0, msg[k],
                                                          NULL, NULL, theta[k]),
                                 DGCN_OK);
            }
        }
        double err = 0.0, norm = 0.0;
        for (int k = 0; k < GM; k++)
            for (int i = 0; i < P; i++) {
                err += (theta[k][i] - opt[i]) * (theta[k][i] - opt[i]);
                norm += opt[i] * opt[i];
            }
        err = sqrt(err / norm);
        fprintf(stderr, "%s with top-k 0.3 gossip on a ring of %d: relative error %.2e\n",
                dgcn_consensus_kind_name(kind), GM, err);
        ck_assert_msg(err < tol[kind], "%s: relative error %g", dgcn_consensus_kind_name(kind),
                      err);
        for (int k = 0; k < GM; k++) {
            dgcn_consensus_destroy(&c[k]);
            dgcn_choco_destroy(&q[k]);
        }
    }
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"parse", test_parse, 0, 0},
        {"topk_contraction", test_topk_contraction, 0, 0},
        {"topk_corrupt", test_topk_corrupt, 0, 0},
        {"randk_unbiased", test_randk_unbiased, 0, 120},
        {"quant_unbiased", test_quant_unbiased, 0, 120},
        {"choco_consensus", test_choco_consensus, 0, 120},
        {"choco_exact_limit", test_choco_exact_limit, 0, 0},
        {"choco_refuses_one_bit", test_choco_refuses_one_bit, 0, 0},
        {"choco_optimizers", test_choco_optimizers, 0, 120},
        {"choco_state", test_choco_state, 0, 0},
    };
    return DGCN_TEST_SUITE("compress", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
