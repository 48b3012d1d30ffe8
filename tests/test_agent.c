/* tests/test_agent.c: the consensus optimizers (nn/consensus.h) against hand-computed values, the
 * agent (agent/agent.h) against the centralized model over the inproc transport, and the failures
 * of a coordinator's session start (coordinator/session.h). */
#include "agent/agent.h"
#include "agent/links.h"
#include "agent/run.h"
#include "comm/hub.h"
#include "comm/transport.h"
#include "coordinator/plan.h"
#include "coordinator/session.h"
#include "core/error.h"
#include "graph/csr.h"
#include "graph/dataset.h"
#include "graph/generate.h"
#include "graph/partition.h"
#include "graph/shard.h"
#include "nn/consensus.h"
#include "nn/gcn.h"
#include "nn/halo_codec.h"
#include "nn/optim.h"
#include "tests/testutil.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* ---------------------------------------------------------------------------------------------
 * (e) consensus functions */

START_TEST(test_step_schedule) {
    dgcn_step_schedule s = {.alpha0 = 1.0, .decay = 10.0, .power = 1.0};
    ck_assert_double_eq_tol(dgcn_step_at(&s, 0), 1.0, 1e-15);
    ck_assert_double_eq_tol(dgcn_step_at(&s, 10), 0.5, 1e-15);
    ck_assert_double_eq_tol(dgcn_step_at(&s, 30), 0.25, 1e-15);
    s.power = 0.5;
    ck_assert_double_eq_tol(dgcn_step_at(&s, 30), 0.5, 1e-15);
    s.decay = 0.0;
    ck_assert_double_eq_tol(dgcn_step_at(&s, 1000), 1.0, 1e-15);
    /* cool-down over the last half of 100 iterations: 1 before, ((100 - n) / 50)^2 after, 0 at
     * the end and beyond; on top of the decay schedule */
    s.cooldown = 0.5;
    s.total = 100;
    ck_assert_double_eq_tol(dgcn_step_at(&s, 49), 1.0, 1e-15);
    ck_assert_double_eq_tol(dgcn_step_at(&s, 50), 1.0, 1e-15);
    ck_assert_double_eq_tol(dgcn_step_at(&s, 75), 0.25, 1e-15);
    ck_assert_double_eq_tol(dgcn_step_at(&s, 99), 4e-4, 1e-15);
    ck_assert_double_eq_tol(dgcn_step_at(&s, 100), 0.0, 1e-15);
    s.decay = 10.0;
    s.power = 1.0;
    ck_assert_double_eq_tol(dgcn_step_at(&s, 90), 0.1 * 0.04, 1e-15);
    s.total = 0; /* no run length: no cool-down */
    ck_assert_double_eq_tol(dgcn_step_at(&s, 90), 0.1, 1e-15);
    dgcn_consensus_config c = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.01);
    c.step.cooldown = 1.5;
    ck_assert_int_eq(dgcn_consensus_config_check(&c), DGCN_EINVAL);
}
END_TEST

START_TEST(test_config_check) {
    dgcn_consensus_config c = dgcn_consensus_defaults(DGCN_CONSENSUS_GT, 0.1);
    ck_assert_int_eq(dgcn_consensus_config_check(&c), DGCN_OK);
    c.step.alpha0 = -1.0;
    ck_assert_int_eq(dgcn_consensus_config_check(&c), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "alpha0"));
    c = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.1);
    c.beta1 = 1.0;
    ck_assert_int_eq(dgcn_consensus_config_check(&c), DGCN_EINVAL);
    c = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD, 0.1);
    c.grad_scale = 0.0;
    ck_assert_int_eq(dgcn_consensus_config_check(&c), DGCN_EINVAL);
    dgcn_consensus_kind k;
    ck_assert_int_eq(dgcn_consensus_kind_parse("gt-adam", &k), DGCN_OK);
    ck_assert_int_eq(k, DGCN_CONSENSUS_GT_ADAM);
    ck_assert_int_eq(dgcn_consensus_kind_parse("sgd", &k), DGCN_EINVAL);
    ck_assert_str_eq(dgcn_consensus_kind_name(DGCN_CONSENSUS_DGD_ATC), "dgd-atc");
}
END_TEST

/* A gossip round is the weighted sum of the messages (written in place over the own one), with
 * no gradient and no state change; gossip_rounds outside [1, DGCN_GOSSIP_MAX] is refused. */
START_TEST(test_gossip_combine) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_GT, 0.1);
    ck_assert_int_eq(cfg.gossip_rounds, 1);
    cfg.gossip_rounds = 0;
    ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "gossip_rounds"));
    cfg.gossip_rounds = DGCN_GOSSIP_MAX + 1;
    ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_EINVAL);
    cfg.gossip_rounds = DGCN_GOSSIP_MAX;
    ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_OK);
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, 1), DGCN_OK);
    float msg[2] = {1, 2}, r0[2] = {3, 4}, r1[2] = {5, -6};
    const float *recv[2] = {r0, r1};
    double row[3] = {0.5, 0.25, 0.25};
    ck_assert_int_eq(dgcn_consensus_combine(c, 0, row, 2, msg, NULL, recv, msg), DGCN_OK);
    ck_assert_float_eq_tol(msg[0], 2.5f, 1e-6f);
    ck_assert_float_eq_tol(msg[1], 0.5f, 1e-6f);
    ck_assert_ptr_nonnull(dgcn_consensus_tracker(c));
    ck_assert_float_eq(dgcn_consensus_tracker(c)[0], 0.0f); /* state untouched */
    double bad[3] = {0.5, NAN, 0.5};
    ck_assert_int_eq(dgcn_consensus_combine(c, 0, bad, 2, msg, NULL, recv, msg), DGCN_EINVAL);
    dgcn_consensus_destroy(&c);
}
END_TEST

/* theta = (1, 2), g = (0.5, -1), neighbours' messages (3, 4), (5, 6), row (0.5, 0.25, 0.25),
 * alpha = 0.1, scale 2. */
START_TEST(test_dgd_values) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD, 0.1);
    cfg.grad_scale = 2.0;
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, 2), DGCN_OK);
    ck_assert_int_eq(dgcn_consensus_msg_len(c), 2);
    ck_assert_ptr_null(dgcn_consensus_tracker(c));
    float theta[2] = {1, 2}, g[2] = {0.5f, -1}, msg[2];
    float r0[2] = {3, 4}, r1[2] = {5, 6};
    const float *recv[2] = {r0, r1};
    double row[3] = {0.5, 0.25, 0.25};
    ck_assert_int_eq(dgcn_consensus_prepare(c, 0, theta, g, msg), DGCN_OK);
    ck_assert_float_eq(msg[0], 1.0f);
    ck_assert_float_eq(msg[1], 2.0f);
    ck_assert_int_eq(dgcn_consensus_mix(c, 0, g, row, 2, msg, recv, theta), DGCN_OK);
    /* mix = (2.5, 3.5); minus 0.1 * 2 * g */
    ck_assert_float_eq_tol(theta[0], 2.4f, 1e-6f);
    ck_assert_float_eq_tol(theta[1], 3.7f, 1e-6f);
    dgcn_consensus_destroy(&c);
    ck_assert_ptr_null(c);
    dgcn_consensus_destroy(&c);
}
END_TEST

/* Round n of a consensus optimizer on P = 5 with one neighbour whose message and this agent's
 * gradient are pseudo-random functions of n: a deterministic stream to run twice. */
static void s_cons_round(dgcn_consensus *c, int64_t n, float *theta) {
    enum { P = 5 };
    float g[P], msg[2 * P], nb[2 * P];
    const float *recv[1] = {nb};
    double row[2] = {0.625, 0.375};
    for (int i = 0; i < 2 * P; i++) {
        if (i < P) g[i] = (float)sin(1.7 * (double)n + 0.3 * i);
        nb[i] = (float)cos(0.9 * (double)n - 0.7 * i);
    }
    ck_assert_int_eq(dgcn_consensus_prepare(c, n, theta, g, msg), DGCN_OK);
    ck_assert_int_eq(dgcn_consensus_mix(c, n, g, row, 1, msg, recv, theta), DGCN_OK);
}

/* A consensus optimizer saved after 3 rounds and restored into a fresh one continues exactly as
 * the one never stopped (bit for bit, every kind); a state of the wrong length is refused. */
START_TEST(test_consensus_state_resume) {
    enum { P = 5, ROUNDS = 7, CUT = 3 };
    static const int64_t want_len[5] = {0, 0, 3 * P, 5 * P, P};
    for (int kind = 0; kind < 5; kind++) {
        dgcn_consensus_config cfg = dgcn_consensus_defaults((dgcn_consensus_kind)kind, 0.05);
        dgcn_consensus *a = NULL, *b = NULL;
        float ta[P] = {0.1f, -0.2f, 0.3f, 0.4f, -0.5f}, tb[P];
        memcpy(tb, ta, sizeof ta);
        ck_assert_int_eq(dgcn_consensus_new(&a, &cfg, P), DGCN_OK);
        ck_assert_int_eq(dgcn_consensus_new(&b, &cfg, P), DGCN_OK);
        ck_assert_int_eq(dgcn_consensus_state_len(a), want_len[kind]);
        for (int64_t n = 0; n < ROUNDS; n++) s_cons_round(a, n, ta);
        for (int64_t n = 0; n < CUT; n++) s_cons_round(b, n, tb);
        float vec[5 * P + 1];
        int64_t counters[2];
        dgcn_consensus_state_save(b, vec, counters);
        dgcn_consensus_destroy(&b);
        ck_assert_int_eq(dgcn_consensus_new(&b, &cfg, P), DGCN_OK);
        ck_assert_int_eq(dgcn_consensus_state_load(b, vec, want_len[kind] + 1, counters),
                         DGCN_EINVAL);
        ck_assert_int_eq(dgcn_consensus_state_load(b, vec, want_len[kind], counters), DGCN_OK);
        for (int64_t n = CUT; n < ROUNDS; n++) s_cons_round(b, n, tb);
        ck_assert_msg(memcmp(ta, tb, sizeof ta) == 0, "%s: resumed theta differs",
                      dgcn_consensus_kind_name((dgcn_consensus_kind)kind));
        if (kind == DGCN_CONSENSUS_GT || kind == DGCN_CONSENSUS_GT_ADAM)
            ck_assert_int_eq(memcmp(dgcn_consensus_tracker(a), dgcn_consensus_tracker(b),
                                    P * sizeof(float)),
                             0);
        dgcn_consensus_destroy(&a);
        dgcn_consensus_destroy(&b);
    }
}
END_TEST

START_TEST(test_dgd_atc_values) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD_ATC, 0.1);
    cfg.grad_scale = 2.0;
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, 2), DGCN_OK);
    float theta[2] = {1, 2}, g[2] = {0.5f, -1}, msg[2];
    float r0[2] = {3, 4}, r1[2] = {5, 6};
    const float *recv[2] = {r0, r1};
    double row[3] = {0.5, 0.25, 0.25};
    ck_assert_int_eq(dgcn_consensus_prepare(c, 0, theta, g, msg), DGCN_OK);
    ck_assert_float_eq_tol(msg[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(msg[1], 2.2f, 1e-6f);
    ck_assert_int_eq(dgcn_consensus_mix(c, 0, g, row, 2, msg, recv, theta), DGCN_OK);
    ck_assert_float_eq_tol(theta[0], 2.45f, 1e-6f);
    ck_assert_float_eq_tol(theta[1], 3.6f, 1e-6f);
    dgcn_consensus_destroy(&c);
}
END_TEST

/* P = 1, alpha = 0.5, two agents, row (0.5, 0.5). Round 0: theta 1, g 2 -> y 2, msg (0, 2);
 * neighbour sends (4, -2) -> theta 2, ymix 0. Round 1: g 3 -> y = 0 + 3 - 2 = 1, msg (1.5, 1). */
START_TEST(test_gt_values) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_GT, 0.5);
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, 1), DGCN_OK);
    ck_assert_int_eq(dgcn_consensus_msg_len(c), 2);
    float theta[1] = {1}, g0[1] = {2}, g1[1] = {3}, msg[2];
    float r0[2] = {4, -2};
    const float *recv[1] = {r0};
    double row[2] = {0.5, 0.5};
    ck_assert_int_eq(dgcn_consensus_prepare(c, 0, theta, g0, msg), DGCN_OK);
    ck_assert_float_eq(msg[0], 0.0f);
    ck_assert_float_eq(msg[1], 2.0f);
    ck_assert_float_eq(dgcn_consensus_tracker(c)[0], 2.0f);
    ck_assert_int_eq(dgcn_consensus_mix(c, 0, g0, row, 1, msg, recv, theta), DGCN_OK);
    ck_assert_float_eq(theta[0], 2.0f);
    ck_assert_int_eq(dgcn_consensus_prepare(c, 1, theta, g1, msg), DGCN_OK);
    ck_assert_float_eq(dgcn_consensus_tracker(c)[0], 1.0f);
    ck_assert_float_eq(msg[0], 1.5f);
    ck_assert_float_eq(msg[1], 1.0f);
    dgcn_consensus_destroy(&c);
}
END_TEST

/* One agent alone (row (1)): round 0 theta 1, g 2; round 1 g 1. The message carries theta and y;
 * Adam (b1 0.9, b2 0.999, alpha 0.1) steps after mixing, on the mixed tracker, computed here in
 * closed form. */
START_TEST(test_gt_adam_values) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.1);
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, 1), DGCN_OK);
    float theta[1] = {1}, g0[1] = {2}, g1[1] = {1}, msg[2];
    double row[1] = {1.0};
    ck_assert_int_eq(dgcn_consensus_prepare(c, 0, theta, g0, msg), DGCN_OK);
    ck_assert_float_eq(msg[0], 1.0f);
    ck_assert_float_eq(msg[1], 2.0f);
    ck_assert_int_eq(dgcn_consensus_mix(c, 0, g0, row, 0, msg, NULL, theta), DGCN_OK);
    /* ymix = 2: m = 0.2, v = 0.004, mhat = 2, vhat = 4: d = 0.1 * 2 / 2 */
    ck_assert_double_eq_tol(theta[0], 0.9, 1e-6);
    ck_assert_int_eq(dgcn_consensus_prepare(c, 1, theta, g1, msg), DGCN_OK);
    /* y = 2 + 1 - 2 = 1 */
    ck_assert_double_eq_tol(msg[0], 0.9, 1e-6);
    ck_assert_float_eq(msg[1], 1.0f);
    ck_assert_int_eq(dgcn_consensus_mix(c, 1, g1, row, 0, msg, NULL, theta), DGCN_OK);
    /* m = 0.28, v = 0.004996; bias corrections 0.19 and 0.001999 */
    double d = 0.1 * (0.28 / 0.19) / (sqrt(0.004996 / 0.001999) + 1e-8);
    ck_assert_double_eq_tol(theta[0], 0.9 - d, 1e-6);
    dgcn_consensus_destroy(&c);
}
END_TEST

/* Two agents, row (0.5, 0.5): the step uses the MIXED tracker, so both agents take the same Adam
 * step on the average of their trackers (a step on their own trackers would differ). */
START_TEST(test_gt_adam_steps_on_mixed_tracker) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.1);
    cfg.grad_scale = 1.0;
    dgcn_consensus *c[2] = {NULL, NULL};
    float theta[2][1] = {{1}, {1}}, g[2][1] = {{3}, {-1}}, msg[2][2];
    double row[2] = {0.5, 0.5};
    for (int k = 0; k < 2; k++) {
        ck_assert_int_eq(dgcn_consensus_new(&c[k], &cfg, 1), DGCN_OK);
        ck_assert_int_eq(dgcn_consensus_prepare(c[k], 0, theta[k], g[k], msg[k]), DGCN_OK);
    }
    for (int k = 0; k < 2; k++) {
        const float *recv[1] = {msg[1 - k]};
        ck_assert_int_eq(dgcn_consensus_mix(c[k], 0, g[k], row, 1, msg[k], recv, theta[k]),
                         DGCN_OK);
    }
    /* ymix = 1 for both: the first Adam step is alpha * sign = 0.1 */
    ck_assert_double_eq_tol(theta[0][0], 0.9, 1e-6);
    ck_assert_double_eq_tol(theta[1][0], 0.9, 1e-6);
    dgcn_consensus_destroy(&c[0]);
    dgcn_consensus_destroy(&c[1]);
}
END_TEST

/* Gradient tracking on a ring of 4 with Metropolis weights 1/3: after every round, the sum of the
 * trackers equals s times the sum of the current gradients (C doubly stochastic), and the
 * parameters of all agents approach consensus. */
START_TEST(test_gt_tracking_invariant) {
    enum { M = 4, P = 3 };
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_GT, 0.2);
    cfg.grad_scale = M;
    dgcn_consensus *c[M] = {0};
    float theta[M][P], grad[M][P], msg[M][2 * P];
    for (int k = 0; k < M; k++) {
        ck_assert_int_eq(dgcn_consensus_new(&c[k], &cfg, P), DGCN_OK);
        for (int i = 0; i < P; i++) theta[k][i] = (float)(k * 0.7 - i * 0.3);
    }
    double row[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    for (int n = 0; n < 100; n++) {
        /* local quadratic losses f_k = 0.5 (theta - b_k)^2 / M: g_k = (theta_k - b_k) / M */
        for (int k = 0; k < M; k++)
            for (int i = 0; i < P; i++) grad[k][i] = (float)((theta[k][i] - (k + i)) / M);
        for (int k = 0; k < M; k++)
            ck_assert_int_eq(dgcn_consensus_prepare(c[k], n, theta[k], grad[k], msg[k]), DGCN_OK);
        for (int i = 0; i < P; i++) {
            double sy = 0.0, sg = 0.0;
            for (int k = 0; k < M; k++) {
                sy += dgcn_consensus_tracker(c[k])[i];
                sg += M * (double)grad[k][i];
            }
            ck_assert_double_eq_tol(sy, sg, 1e-4);
        }
        for (int k = 0; k < M; k++) {
            const float *recv[2] = {msg[(k + M - 1) % M], msg[(k + 1) % M]};
            ck_assert_int_eq(dgcn_consensus_mix(c[k], n, grad[k], row, 2, msg[k], recv, theta[k]),
                             DGCN_OK);
        }
    }
    /* the minimizer of sum_k f_k is the mean of b_k: (1.5 + i) */
    for (int k = 0; k < M; k++) {
        for (int i = 0; i < P; i++) ck_assert_double_eq_tol(theta[k][i], 1.5 + i, 1e-3);
        dgcn_consensus_destroy(&c[k]);
    }
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * The agents against the centralized model. A small CSBM graph, preprocessed, A_hat; the
 * centralized model runs on the whole graph (no halo, no hook); M agents run as threads over the
 * inproc transport. */

enum { MAX_M = 8 };

typedef struct fixture {
    dgcn_dataset ds;
    dgcn_csr a_hat; /* (n, n) */
    int32_t *gid;   /* (n) identity */
    dgcn_model_config cfg;
    int64_t n_params;
    float *theta0; /* (P) Glorot init, seed 11 */
} fixture;

/* CSBM with 150 nodes, 3 classes, 40 features; links (M x M) when given drops every cross edge
 * between agents that are not linked (owner required), then A_hat is built from the result. */
static void s_fixture_init(fixture *f, float dropout, const int32_t *owner, int32_t m,
                           const uint8_t *links) {
    memset(f, 0, sizeof *f);
    dgcn_csbm_params p = dgcn_csbm_defaults();
    p.n = 150;
    p.c = 3;
    p.avg_degree = 5;
    p.d = 40;
    p.feat_nnz = 6;
    p.train_per_class = 10;
    p.n_val = 30;
    p.n_test = 40;
    p.seed = 7;
    ck_assert_msg(dgcn_generate_csbm(&f->ds, &p) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_msg(dgcn_dataset_preprocess(&f->ds, 1) == DGCN_OK, "%s", dgcn_error_msg());
    if (links) {
        dgcn_csr dropped = {0};
        int64_t n_dropped = 0;
        int32_t pairs[2 * MAX_M * MAX_M];
        int64_t n_pairs = 0;
        for (int32_t k = 0; k < m; k++)
            for (int32_t t = k + 1; t < m; t++)
                if (links[k * m + t]) pairs[2 * n_pairs] = k, pairs[2 * n_pairs++ + 1] = t;
        ck_assert_int_eq(dgcn_partition_drop_cross_edges(&dropped, &f->ds.adj, owner, m, pairs,
                                                         n_pairs, &n_dropped),
                         DGCN_OK);
        dgcn_csr_fini(&f->ds.adj);
        f->ds.adj = dropped;
    }
    ck_assert_msg(dgcn_csr_gcn_norm(&f->a_hat, &f->ds.adj) == DGCN_OK, "%s", dgcn_error_msg());
    f->gid = malloc((size_t)f->ds.n * sizeof *f->gid);
    for (int32_t i = 0; i < f->ds.n; i++) f->gid[i] = i;
    f->cfg = dgcn_model_defaults(DGCN_MODEL_GCN, f->ds.d, f->ds.c);
    f->cfg.dropout = dropout;
    f->n_params = dgcn_model_n_params(&f->cfg);
    f->theta0 = malloc((size_t)f->n_params * sizeof *f->theta0);
    dgcn_model_init(&f->cfg, f->theta0, 11);
}

static void s_fixture_fini(fixture *f) {
    free(f->theta0);
    free(f->gid);
    dgcn_csr_fini(&f->a_hat);
    dgcn_dataset_fini(&f->ds);
}

static dgcn_block s_central_block(const fixture *f) {
    dgcn_block b = {
        .n_own = f->ds.n,
        .n_halo = 0,
        .a = &f->a_hat,
        .x = &f->ds.x,
        .gid = f->gid,
        .label = f->ds.label,
        .split = f->ds.split,
        .n_train_global = f->ds.n_train,
        .reg_share = 1.0f,
    };
    return b;
}

/* Opens agent k's endpoint on the inproc fabric at address with the given neighbours. */
static dgcn_transport *s_open_agent(const char *address, int32_t k, int32_t m, int deadline_ms,
                                    const int32_t *nb, int32_t n_nb) {
    dgcn_transport *t = NULL;
    const char *eps[16] = {""};
    for (int32_t i = 0; i < n_nb && i < 16; i++) eps[i] = "";
    ck_assert_msg(dgcn_transport_open(address, k, m, 99, deadline_ms, &t) == DGCN_OK, "%s",
                  dgcn_error_msg());
    ck_assert_msg(dgcn_transport_connect(t, nb, eps, n_nb) == DGCN_OK, "%s", dgcn_error_msg());
    return t;
}

/* A fresh inproc:// address with its hub (the hub holds the fabric). */
static dgcn_hub *s_open_fabric(int32_t m, int deadline_ms, char *address, size_t cap) {
    dgcn_hub *h = NULL;
    ck_assert_int_eq(dgcn_transport_address("inproc", NULL, NULL, address, cap), DGCN_OK);
    ck_assert_msg(dgcn_hub_open(address, m, 99, deadline_ms, NULL, 0, &h) == DGCN_OK, "%s",
                  dgcn_error_msg());
    return h;
}

/* A distributed run: shards, fabric, endpoints and agents. */
typedef struct run {
    int32_t m;
    int32_t owner[1024];
    dgcn_shard shards[MAX_M];
    dgcn_hub *hub; /* holds the inproc fabric */
    char address[128];
    dgcn_transport *t[MAX_M];
    dgcn_agent *agent[MAX_M];
} run;

typedef enum job_kind { JOB_GRADIENT, JOB_STEP, JOB_EVALUATE, JOB_MIX, JOB_AGREE } job_kind;

typedef struct job {
    dgcn_agent *agent;
    job_kind kind;
    int64_t iter;
    int training;
    float *grad; /* (P) for JOB_GRADIENT */
    dgcn_eval ev;
    int rc;
    char msg[512];
} job;

static void *s_job_main(void *arg) {
    job *j = arg;
    memset(&j->ev, 0, sizeof j->ev);
    switch (j->kind) {
    case JOB_GRADIENT: j->rc = dgcn_agent_gradient(j->agent, j->iter, j->training, j->grad); break;
    case JOB_STEP: j->rc = dgcn_agent_step(j->agent, j->iter, &j->ev); break;
    case JOB_EVALUATE: j->rc = dgcn_agent_evaluate(j->agent, j->iter, &j->ev); break;
    case JOB_MIX: j->rc = dgcn_agent_mix(j->agent, j->iter); break;
    case JOB_AGREE: j->rc = dgcn_agent_agree(j->agent, j->iter, j->training); break;
    }
    if (j->rc != DGCN_OK) snprintf(j->msg, sizeof j->msg, "%s", dgcn_error_msg());
    return NULL;
}

/* Runs jobs[0..m) on m threads and checks that all succeeded. */
static void s_run_jobs(job *jobs, int32_t m) {
    pthread_t th[MAX_M];
    for (int32_t k = 0; k < m; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, s_job_main, &jobs[k]), 0);
    for (int32_t k = 0; k < m; k++) pthread_join(th[k], NULL);
    for (int32_t k = 0; k < m; k++)
        ck_assert_msg(jobs[k].rc == DGCN_OK, "agent %d: %s (%s)", k, dgcn_strerror(jobs[k].rc),
                      jobs[k].msg);
}

/* Neighbours of agent k in a complete (ring != 0: ring) topology, and a uniform (ring:
 * Metropolis 1/3) mixing row. Returns the neighbour count. */
static int32_t s_topology(int32_t m, int32_t k, int ring, int32_t *nb, double *row) {
    int32_t n = 0;
    for (int32_t t = 0; t < m; t++) {
        if (t == k) continue;
        int adjacent = (t == (k + 1) % m) || (k == (t + 1) % m);
        if (!ring || adjacent) nb[n++] = t;
    }
    double w = ring ? (m > 2 ? 1.0 / 3.0 : 0.5) : 1.0 / m;
    if (ring && m == 1) w = 1.0;
    row[0] = 1.0 - w * n;
    for (int32_t i = 0; i < n; i++) row[i + 1] = w;
    return n;
}

static void s_run_init(run *r, const fixture *f, int32_t m, int ring, const int32_t *owner,
                       const dgcn_agent_opts *opts, int distinct_init) {
    memset(r, 0, sizeof *r);
    r->m = m;
    ck_assert_int_le(f->ds.n, 1024);
    if (owner) memcpy(r->owner, owner, (size_t)f->ds.n * sizeof *owner);
    else ck_assert_int_eq(dgcn_partition(&f->ds.adj, m, DGCN_PARTITION_BFS, 5, r->owner), DGCN_OK);
    ck_assert_msg(dgcn_shard_build_all(&f->ds, &f->a_hat, r->owner, m, 77, r->shards) == DGCN_OK,
                  "%s", dgcn_error_msg());
    r->hub = s_open_fabric(m, 20000, r->address, sizeof r->address);
    for (int32_t k = 0; k < m; k++) {
        int32_t nb[MAX_M];
        double row[MAX_M + 1];
        int32_t n_nb = s_topology(m, k, ring, nb, row);
        r->t[k] = s_open_agent(r->address, k, m, 20000, nb, n_nb);
        dgcn_agent_opts o = *opts;
        if (distinct_init) o.init_seed = opts->init_seed + 1000 * (uint64_t)k;
        ck_assert_msg(dgcn_agent_new(&r->agent[k], &r->shards[k], &f->cfg, r->t[k], row, &o) ==
                          DGCN_OK,
                      "agent %d: %s", k, dgcn_error_msg());
        ck_assert_int_eq(dgcn_agent_n_params(r->agent[k]), f->n_params);
        if (!distinct_init)
            ck_assert_int_eq(dgcn_agent_set_params(r->agent[k], f->theta0), DGCN_OK);
    }
}

static void s_run_fini(run *r) {
    for (int32_t k = 0; k < r->m; k++) {
        dgcn_agent_destroy(&r->agent[k]);
        ck_assert_ptr_null(r->agent[k]);
        dgcn_transport_close(&r->t[k]);
        dgcn_shard_fini(&r->shards[k]);
    }
    dgcn_hub_close(&r->hub);
}

static double s_rel_err(const float *a, const float *b, int64_t n) {
    double num = 0.0, den = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return sqrt(num) / (sqrt(den) + 1e-30);
}

/* (a) same weights everywhere: logits and the sum of the local gradients equal the centralized
 * ones, with dropout on, for M in {1, 2, 3, 5}. */
START_TEST(test_equivalence) {
    static const int32_t ms[] = {1, 2, 3, 5};
    const int32_t m = ms[_i];
    fixture f;
    s_fixture_init(&f, 0.5f, NULL, 0, NULL);
    const int64_t iter = 3;
    const uint64_t dseed = 42;
    /* centralized */
    dgcn_block cb = s_central_block(&f);
    dgcn_gcn *cg = NULL;
    ck_assert_msg(dgcn_gcn_new(&cg, &f.cfg, &cb, NULL, NULL) == DGCN_OK, "%s", dgcn_error_msg());
    float *g_c = malloc((size_t)f.n_params * sizeof *g_c);
    ck_assert_int_eq(dgcn_gcn_forward(cg, f.theta0, 1, dseed, iter, NULL), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_backward(cg, f.theta0, g_c), DGCN_OK);
    const float *logit_c = dgcn_gcn_logits(cg);
    const int32_t c = f.ds.c;

    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.dropout_seed = dseed;
    run r;
    s_run_init(&r, &f, m, 0, NULL, &opts, 0);
    job jobs[MAX_M];
    float *g_k = malloc((size_t)m * f.n_params * sizeof *g_k);
    for (int32_t k = 0; k < m; k++)
        jobs[k] = (job){.agent = r.agent[k],
                        .kind = JOB_GRADIENT,
                        .iter = iter,
                        .training = 1,
                        .grad = g_k + (int64_t)k * f.n_params};
    s_run_jobs(jobs, m);

    /* logits: gather every agent's rows into global order */
    float *logit_d = calloc((size_t)f.ds.n * c, sizeof *logit_d);
    int32_t covered = 0;
    for (int32_t k = 0; k < m; k++) {
        const float *lk = dgcn_agent_logits(r.agent[k]);
        for (int32_t i = 0; i < r.shards[k].n_own; i++) {
            memcpy(logit_d + (int64_t)r.shards[k].gid[i] * c, lk + (int64_t)i * c,
                   (size_t)c * sizeof *lk);
            covered++;
        }
    }
    ck_assert_int_eq(covered, f.ds.n);
    double e_logit = s_rel_err(logit_d, logit_c, (int64_t)f.ds.n * c);
    ck_assert_msg(e_logit <= 1e-5, "M = %d: logits rel err %g", m, e_logit);

    float *g_sum = calloc((size_t)f.n_params, sizeof *g_sum);
    for (int32_t k = 0; k < m; k++)
        for (int64_t i = 0; i < f.n_params; i++) g_sum[i] += g_k[(int64_t)k * f.n_params + i];
    double e_grad = s_rel_err(g_sum, g_c, f.n_params);
    ck_assert_msg(e_grad <= 1e-5, "M = %d: gradient rel err %g", m, e_grad);
    fprintf(stderr, "equivalence M = %d: logits rel err %.3g, gradient rel err %.3g\n", m, e_logit,
            e_grad);

    /* evaluation exchanges (tag 4 iter + 1) run after the gradient pass without collision */
    for (int32_t k = 0; k < m; k++)
        jobs[k] = (job){.agent = r.agent[k], .kind = JOB_EVALUATE, .iter = iter};
    s_run_jobs(jobs, m);
    dgcn_eval ev_c;
    ck_assert_int_eq(dgcn_gcn_forward(cg, f.theta0, 0, dseed, iter, &ev_c), DGCN_OK);
    double loss_d = 0.0;
    int32_t correct_d = 0;
    for (int32_t k = 0; k < m; k++) {
        loss_d += jobs[k].ev.loss_sum[DGCN_SPLIT_TRAIN];
        correct_d += jobs[k].ev.correct[DGCN_SPLIT_TEST];
    }
    ck_assert_double_eq_tol(loss_d, ev_c.loss_sum[DGCN_SPLIT_TRAIN],
                            1e-4 * fabs(ev_c.loss_sum[DGCN_SPLIT_TRAIN]));
    ck_assert_int_eq(correct_d, ev_c.correct[DGCN_SPLIT_TEST]);
    if (m > 1) {
        dgcn_traffic tr = dgcn_agent_traffic(r.agent[0]);
        ck_assert_uint_gt(tr.bytes[DGCN_CH_HALO_FWD], 0);
        ck_assert_uint_eq(tr.messages[DGCN_CH_PARAMS], 0);
    }
    /* a second evaluation with the same tag is refused before any exchange */
    dgcn_eval ev_again;
    ck_assert_int_eq(dgcn_agent_evaluate(r.agent[0], iter, &ev_again), DGCN_EINVAL);
    ck_assert_msg(strstr(dgcn_error_msg(), "in a row with tag"), "%s", dgcn_error_msg());
    /* the dropout-free gradient of a model with dropout is refused before any exchange */
    ck_assert_int_eq(dgcn_agent_gradient(r.agent[0], iter + 1, 0, NULL), DGCN_EINVAL);
    free(g_sum);
    free(logit_d);
    free(g_k);
    s_run_fini(&r);
    free(g_c);
    dgcn_gcn_destroy(&cg);
    s_fixture_fini(&f);
}
END_TEST

/* (b) a data peer that is not a communication neighbour is refused, naming the link. */
START_TEST(test_missing_link) {
    fixture f;
    s_fixture_init(&f, 0.0f, NULL, 0, NULL);
    const int32_t m = 3;
    int32_t owner[1024];
    ck_assert_int_eq(dgcn_partition(&f.ds.adj, m, DGCN_PARTITION_BFS, 5, owner), DGCN_OK);
    dgcn_shard shards[3];
    ck_assert_int_eq(dgcn_shard_build_all(&f.ds, &f.a_hat, owner, m, 77, shards), DGCN_OK);
    ck_assert_int_gt(shards[0].n_peers, 0);
    const int32_t peer = shards[0].peer[0];
    char address[128];
    dgcn_hub *fab = s_open_fabric(m, 2000, address, sizeof address);
    /* agent 0's neighbours: every agent except its first data peer */
    int32_t nb[2];
    int32_t n_nb = 0;
    for (int32_t t = 1; t < m; t++)
        if (t != peer) nb[n_nb++] = t;
    double row[3] = {1.0, 0.0, 0.0};
    dgcn_transport *t0 = NULL;
    t0 = s_open_agent(address, 0, m, 2000, nb, n_nb);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    dgcn_agent *a = NULL;
    ck_assert_int_eq(dgcn_agent_new(&a, &shards[0], &f.cfg, t0, row, &opts), DGCN_ETOPOLOGY);
    ck_assert_ptr_null(a);
    char link[32];
    snprintf(link, sizeof link, "0-%d", peer);
    ck_assert_msg(strstr(dgcn_error_msg(), link) != NULL, "message '%s' lacks link %s",
                  dgcn_error_msg(), link);
    /* a mixing row that does not sum to 1 is refused too */
    dgcn_transport_close(&t0);
    int32_t all[2] = {1, 2};
    t0 = s_open_agent(address, 0, m, 2000, all, 2);
    double bad[3] = {0.5, 0.2, 0.2};
    ck_assert_int_eq(dgcn_agent_new(&a, &shards[0], &f.cfg, t0, bad, &opts), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "mixing row"));
    /* a shard given to another agent's endpoint is refused */
    double good[3] = {0.5, 0.25, 0.25};
    ck_assert_int_eq(dgcn_agent_new(&a, &shards[1], &f.cfg, t0, good, &opts), DGCN_EINVAL);
    /* a corrupt halo map is refused before any exchange */
    int32_t saved = shards[0].send_idx[0];
    shards[0].send_idx[0] = shards[0].n_own;
    ck_assert_int_eq(dgcn_agent_new(&a, &shards[0], &f.cfg, t0, good, &opts), DGCN_EINVAL);
    ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "send row"));
    shards[0].send_idx[0] = saved;
    /* a model whose widths do not match the shard is refused */
    dgcn_model_config wrong = f.cfg;
    wrong.dims[0] += 1;
    ck_assert_int_eq(dgcn_agent_new(&a, &shards[0], &wrong, t0, good, &opts), DGCN_EINVAL);
    ck_assert_int_eq(dgcn_agent_new(&a, &shards[0], &f.cfg, t0, good, &opts), DGCN_OK);
    dgcn_agent_destroy(&a);
    dgcn_transport_close(&t0);
    dgcn_hub_close(&fab);
    for (int32_t k = 0; k < m; k++) dgcn_shard_fini(&shards[k]);
    s_fixture_fini(&f);
}
END_TEST

/* Centralized full-batch gradient descent: theta <- theta - alpha g(theta), n steps; loss[i]
 * (n + 1 entries, may be NULL) is the dropout-free training loss (mean cross-entropy) after i
 * steps. */
static void s_central_gd(const fixture *f, float *theta, double alpha, int n, double *loss) {
    dgcn_block cb = s_central_block(f);
    dgcn_gcn *cg = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&cg, &f->cfg, &cb, NULL, NULL), DGCN_OK);
    float *g = malloc((size_t)f->n_params * sizeof *g);
    for (int it = 0; it <= n; it++) {
        if (loss) {
            dgcn_eval ev;
            ck_assert_int_eq(dgcn_gcn_forward(cg, theta, 0, 1, it, &ev), DGCN_OK);
            loss[it] = ev.loss_sum[DGCN_SPLIT_TRAIN] / f->ds.n_train;
        }
        if (it == n) break;
        ck_assert_int_eq(dgcn_gcn_forward(cg, theta, 1, 1, it, NULL), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_backward(cg, theta, g), DGCN_OK);
        for (int64_t i = 0; i < f->n_params; i++) theta[i] = (float)(theta[i] - alpha * g[i]);
    }
    free(g);
    dgcn_gcn_destroy(&cg);
}

static double s_max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* (c) complete topology, uniform weights 1/M, constant step, dropout off: adapt-then-combine DGD
 * with grad_scale M is centralized gradient descent; the paper's combine-then-adapt DGD keeps its
 * average close to it. */
START_TEST(test_dgd_matches_central) {
    static const int32_t ms[] = {3, 5};
    const int32_t m = ms[_i];
    const int n_iter = 20;
    const double alpha = 0.5;
    fixture f;
    s_fixture_init(&f, 0.0f, NULL, 0, NULL);
    float *theta_c = malloc((size_t)f.n_params * sizeof *theta_c);
    memcpy(theta_c, f.theta0, (size_t)f.n_params * sizeof *theta_c);
    s_central_gd(&f, theta_c, alpha, n_iter, NULL);
    double moved = s_max_abs_diff(theta_c, f.theta0, f.n_params);
    ck_assert_double_gt(moved, 1e-2); /* the comparison is not vacuous */

    for (int form = 0; form < 2; form++) {
        dgcn_agent_opts opts = dgcn_agent_opts_defaults();
        opts.consensus = dgcn_consensus_defaults(form == 0 ? DGCN_CONSENSUS_DGD_ATC
                                                           : DGCN_CONSENSUS_DGD,
                                                 alpha);
        opts.consensus.grad_scale = 0.0; /* M */
        run r;
        s_run_init(&r, &f, m, 0, NULL, &opts, 0);
        job jobs[MAX_M];
        for (int it = 0; it < n_iter; it++) {
            for (int32_t k = 0; k < m; k++)
                jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = it};
            s_run_jobs(jobs, m);
        }
        double worst = 0.0;
        float *avg = calloc((size_t)f.n_params, sizeof *avg);
        for (int32_t k = 0; k < m; k++) {
            const float *th = dgcn_agent_params(r.agent[k]);
            worst = fmax(worst, s_max_abs_diff(th, theta_c, f.n_params));
            for (int64_t i = 0; i < f.n_params; i++) avg[i] += th[i] / (float)m;
        }
        double avg_err = s_max_abs_diff(avg, theta_c, f.n_params);
        fprintf(stderr,
                "%s M = %d: max |theta_k - theta_central| = %.3g, average %.3g (moved %.3g)\n",
                form == 0 ? "dgd-atc" : "dgd", m, worst, avg_err, moved);
        if (form == 0) ck_assert_msg(worst <= 1e-4, "dgd-atc M = %d: deviation %g", m, worst);
        else ck_assert_msg(avg_err <= 0.1 * moved, "dgd M = %d: average deviation %g", m, avg_err);
        dgcn_agent_timing tm = dgcn_agent_timings(r.agent[0]);
        ck_assert_int_eq(tm.steps, n_iter);
        dgcn_traffic tr = dgcn_agent_traffic(r.agent[0]);
        ck_assert_uint_eq(tr.bytes[DGCN_CH_PARAMS], (uint64_t)n_iter * (m - 1) * f.n_params * 4);
        free(avg);
        s_run_fini(&r);
    }
    free(theta_c);
    s_fixture_fini(&f);
}
END_TEST

/* The fixture graph (no dropout) partitioned by BFS into m agents joined in a ring, with the data
 * edges between agents that are not ring neighbours dropped (owner receives the partition). */
static void s_ring_fixture(fixture *f, int32_t m, int32_t *owner /* (1024) */) {
    fixture f0;
    s_fixture_init(&f0, 0.0f, NULL, 0, NULL);
    ck_assert_int_eq(dgcn_partition(&f0.ds.adj, m, DGCN_PARTITION_BFS, 5, owner), DGCN_OK);
    s_fixture_fini(&f0);
    uint8_t links[MAX_M * MAX_M] = {0};
    for (int32_t k = 0; k < m; k++) {
        links[k * m + (k + 1) % m] = 1;
        links[((k + 1) % m) * m + k] = 1;
    }
    s_fixture_init(f, 0.0f, owner, m, links);
}

/* Averaging rounds on a ring of 5 (Metropolis weights 1/3, second-largest eigenvalue modulus
 * 1/3 + 2/3 cos(2 pi / 5)): the first round is exactly the weighted sum of the copies, the
 * average is preserved, and the disagreement shrinks at least by that modulus per round. */
START_TEST(test_mix_rounds) {
    const int32_t m = 5, rounds = 10;
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.init_seed = 3;
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    const int64_t p = f.n_params;
    double *before = malloc((size_t)(m * p) * sizeof *before),
           *mean = calloc((size_t)p, sizeof *mean);
    for (int32_t k = 0; k < m; k++)
        for (int64_t i = 0; i < p; i++) {
            before[k * p + i] = dgcn_agent_params(r.agent[k])[i];
            mean[i] += before[k * p + i] / m;
        }
    double dis0 = 0.0;
    for (int64_t i = 0; i < m * p; i++) dis0 += pow(before[i] - mean[i % p], 2);
    dis0 = sqrt(dis0);
    ck_assert_double_gt(dis0, 0.1);
    const double slem = 1.0 / 3.0 + 2.0 / 3.0 * cos(2 * 3.14159265358979323846 / m);
    job jobs[MAX_M];
    for (int rd = 0; rd < rounds; rd++) {
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_MIX, .iter = rd};
        s_run_jobs(jobs, m);
        if (rd == 0)
            for (int32_t k = 0; k < m; k++) {
                const float *th = dgcn_agent_params(r.agent[k]);
                int32_t l = (k + m - 1) % m, u = (k + 1) % m;
                for (int64_t i = 0; i < p; i++) {
                    double want = (before[k * p + i] + before[l * p + i] + before[u * p + i]) / 3.0;
                    ck_assert_msg(fabs(th[i] - want) <= 1e-6 * (fabs(want) + 1e-3),
                                  "agent %d param %lld: %.9g, expected %.9g", k, (long long)i,
                                  th[i], want);
                }
            }
    }
    double dis = 0.0, mean_err = 0.0;
    for (int64_t i = 0; i < p; i++) {
        double avg = 0.0;
        for (int32_t k = 0; k < m; k++) avg += dgcn_agent_params(r.agent[k])[i] / (double)m;
        mean_err = fmax(mean_err, fabs(avg - mean[i]));
        for (int32_t k = 0; k < m; k++) dis += pow(dgcn_agent_params(r.agent[k])[i] - avg, 2);
    }
    dis = sqrt(dis);
    ck_assert_msg(mean_err < 1e-6, "the average moved by %g", mean_err);
    ck_assert_msg(dis <= pow(slem, rounds) * dis0 * 1.001 + 1e-5,
                  "disagreement %g after %d rounds, "
                  "bound %g",
                  dis, rounds, pow(slem, rounds) * dis0);
    free(before);
    free(mean);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* Gossip rounds on a ring of 5, dgd-atc, agents starting apart: one step with R = 3 rounds gives
 * every agent sum_t p_3(C)_kt (theta_t - alpha M g_t), and sends 3 params messages per neighbour;
 * p_3(C) = C^3 for plain gossip (_i = 0), the Chebyshev polynomial T_3(C / rho) / T_3(1 / rho)
 * with rho = SLEM(C) for _i = 1 (nn/consensus.h; computed here densely in double by the
 * recursion x_{r+1} = w_{r+1} C x_r + (1 - w_{r+1}) x_{r-1}). */
/* x <- p_R(C) x for C the Metropolis-Hastings weights of a ring of m (1/3 to self and to each
 * neighbour), in double: R plain rounds, or with accel the Chebyshev recursion x_{r+1} = w C x_r +
 * (1 - w) x_{r-1} with bound rho (w_1 = 1, w_2 = 2 / (2 - rho^2), w_{r+1} = 1 / (1 - rho^2 w / 4)).
 * xp and y are scratch of m p doubles. Returns the last weight (1 for plain rounds). */
static double s_ring_poly(double *x, double *xp, double *y, int32_t m, int64_t p, int rounds,
                          double rho, int accel) {
    double w = 1.0;
    for (int rd = 0; rd < rounds; rd++) {
        if (accel && rd == 1) w = 2.0 / (2.0 - rho * rho);
        if (accel && rd > 1) w = 1.0 / (1.0 - rho * rho * w / 4.0);
        for (int32_t k = 0; k < m; k++)
            for (int64_t i = 0; i < p; i++) {
                double cx = (x[k * p + i] + x[((k + 1) % m) * p + i] +
                             x[((k + m - 1) % m) * p + i]) /
                            3.0;
                y[k * p + i] = rd == 0 ? cx : w * cx + (1.0 - w) * xp[k * p + i];
            }
        memcpy(xp, x, (size_t)(m * p) * sizeof *x);
        memcpy(x, y, (size_t)(m * p) * sizeof *x);
    }
    return w;
}

START_TEST(test_gossip_rounds) {
    const int32_t m = 5, rounds = 3;
    const double alpha = 0.5;
    const int accel = _i; /* the ring's MH weights 1/3: eigenvalues 1/3 + 2/3 cos(2 pi j / 5) */
    const double rho = 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / m);
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD_ATC, alpha);
    opts.consensus.grad_scale = 0.0; /* M */
    opts.consensus.gossip_rounds = rounds;
    opts.consensus.gossip_accel = accel ? DGCN_GOSSIP_CHEBYSHEV : DGCN_GOSSIP_PLAIN;
    opts.consensus.gossip_rho = rho;
    opts.init_seed = 3;
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    const int64_t p = f.n_params;
    double *x = malloc((size_t)(m * p) * sizeof *x), *y = malloc((size_t)(m * p) * sizeof *y);
    double *xp = malloc((size_t)(m * p) * sizeof *xp); /* x_{r-1} */
    float *g = malloc((size_t)(m * p) * sizeof *g);
    job jobs[MAX_M];
    for (int32_t k = 0; k < m; k++)
        jobs[k] = (job){.agent = r.agent[k], .kind = JOB_GRADIENT, .grad = g + k * p};
    s_run_jobs(jobs, m);
    for (int32_t k = 0; k < m; k++)
        for (int64_t i = 0; i < p; i++)
            x[k * p + i] = (float)(dgcn_agent_params(r.agent[k])[i] - alpha * m * g[k * p + i]);
    const double w = s_ring_poly(x, xp, y, m, p, rounds, rho, accel);
    ck_assert(!accel || w > 1.0);
    dgcn_traffic t0[MAX_M];
    for (int32_t k = 0; k < m; k++) t0[k] = dgcn_agent_traffic(r.agent[k]);
    for (int32_t k = 0; k < m; k++)
        jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = 0};
    s_run_jobs(jobs, m);
    double worst = 0.0, moved = 0.0;
    for (int32_t k = 0; k < m; k++) {
        dgcn_traffic t1 = dgcn_agent_traffic(r.agent[k]);
        ck_assert_uint_eq(t1.messages[DGCN_CH_PARAMS] - t0[k].messages[DGCN_CH_PARAMS], 2 * rounds);
        ck_assert_uint_eq(t1.bytes[DGCN_CH_PARAMS] - t0[k].bytes[DGCN_CH_PARAMS],
                          (uint64_t)(2 * rounds * p) * sizeof(float));
        const float *th = dgcn_agent_params(r.agent[k]);
        for (int64_t i = 0; i < p; i++) {
            worst = fmax(worst, fabs(th[i] - x[k * p + i]) / (fabs(x[k * p + i]) + 1e-2));
            moved = fmax(moved, fabs(th[i] - x[((k + 1) % m) * p + i]));
        }
    }
    ck_assert_msg(worst <= 1e-5, "%s: relative deviation %g from p_3(C) applied to the messages",
                  accel ? "chebyshev" : "plain", worst);
    ck_assert_double_gt(moved, 1e-3); /* the copies still differ: p_3(C) is not an average */
    free(x);
    free(xp);
    free(y);
    free(g);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* Agreement rounds before training (dgcn_agent_agree) on a ring of 5 from five different
 * initializations: R = 4 rounds give p_R(C) theta on every agent (a dense double computation of
 * the recursion, plain or Chebyshev), keep the average, shrink the disagreement at most by the
 * bound (rho^R or 1 / T_R(1 / rho)), and send R messages of P floats to each neighbour. */
START_TEST(test_agreement_rounds) {
    const int32_t m = 5, rounds = 4;
    const int accel = _i;
    const double rho = 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / m);
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.01);
    opts.consensus.gossip_accel = accel ? DGCN_GOSSIP_CHEBYSHEV : DGCN_GOSSIP_PLAIN;
    opts.consensus.gossip_rho = accel ? rho : 0.0;
    opts.init_seed = 3;
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    const int64_t p = f.n_params;
    double *x = malloc((size_t)(m * p) * sizeof *x), *y = malloc((size_t)(m * p) * sizeof *y);
    double *xp = calloc((size_t)(m * p), sizeof *xp), *mean0 = calloc((size_t)p, sizeof *mean0);
    for (int32_t k = 0; k < m; k++)
        for (int64_t i = 0; i < p; i++) {
            x[k * p + i] = dgcn_agent_params(r.agent[k])[i];
            mean0[i] += x[k * p + i] / m;
        }
    double d0 = 0.0;
    for (int32_t k = 0; k < m; k++)
        for (int64_t i = 0; i < p; i++) d0 += pow(x[k * p + i] - mean0[i], 2);
    s_ring_poly(x, xp, y, m, p, rounds, rho, accel);
    dgcn_traffic t0[MAX_M];
    job jobs[MAX_M];
    for (int32_t k = 0; k < m; k++) t0[k] = dgcn_agent_traffic(r.agent[k]);
    for (int32_t k = 0; k < m; k++)
        jobs[k] = (job){.agent = r.agent[k], .kind = JOB_AGREE, .iter = 0, .training = rounds};
    s_run_jobs(jobs, m);
    double worst = 0.0, d1 = 0.0, drift = 0.0;
    for (int64_t i = 0; i < p; i++) {
        double mean1 = 0.0;
        for (int32_t k = 0; k < m; k++) mean1 += dgcn_agent_params(r.agent[k])[i] / m;
        drift = fmax(drift, fabs(mean1 - mean0[i]));
        for (int32_t k = 0; k < m; k++) {
            const float th = dgcn_agent_params(r.agent[k])[i];
            worst = fmax(worst, fabs(th - x[k * p + i]) / (fabs(x[k * p + i]) + 1e-2));
            d1 += pow(th - mean1, 2);
        }
    }
    for (int32_t k = 0; k < m; k++) {
        dgcn_traffic t1 = dgcn_agent_traffic(r.agent[k]);
        ck_assert_uint_eq(t1.messages[DGCN_CH_PARAMS] - t0[k].messages[DGCN_CH_PARAMS], 2 * rounds);
        ck_assert_uint_eq(t1.bytes[DGCN_CH_PARAMS] - t0[k].bytes[DGCN_CH_PARAMS],
                          (uint64_t)(2 * rounds * p) * sizeof(float));
    }
    const double bound = dgcn_gossip_contraction(rho, rounds, opts.consensus.gossip_accel);
    ck_assert_msg(worst <= 1e-5, "%s: relative deviation %g from p_R(C) theta",
                  accel ? "chebyshev" : "plain", worst);
    ck_assert_msg(drift <= 1e-6, "the average moved by %g", drift);
    ck_assert_msg(sqrt(d1 / d0) <= bound + 1e-6, "disagreement shrank to %g, bound %g",
                  sqrt(d1 / d0), bound);
    ck_assert(!accel || bound < 0.5 * pow(rho, rounds)); /* Chebyshev: far below rho^R */
    free(x);
    free(xp);
    free(y);
    free(mean0);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* ed on a ring of 5 with 3 Chebyshev gossip rounds: agents saved after 3 steps
 * (dgcn_agent_state_save: theta_k and psi_k) and restored into fresh agents continue bit for bit
 * as the ones never stopped, and the state is theta_k plus one vector. */
START_TEST(test_ed_agent_resume) {
    enum { CUT = 3, STEPS = 6 };
    const int32_t m = 5;
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_ED, 0.5);
    opts.consensus.grad_scale = 0.0; /* M */
    opts.consensus.gossip_rounds = 3;
    opts.consensus.gossip_accel = DGCN_GOSSIP_CHEBYSHEV;
    opts.consensus.gossip_rho = 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / m);
    opts.init_seed = 3;
    const int64_t p = f.n_params;
    float *state = malloc((size_t)(m * 2 * p) * sizeof *state);
    float *end = malloc((size_t)(m * p) * sizeof *end);
    int64_t counters[MAX_M][2];
    job jobs[MAX_M];
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    for (int32_t k = 0; k < m; k++) ck_assert_int_eq(dgcn_agent_state_len(r.agent[k]), 2 * p);
    for (int64_t n = 0; n < STEPS; n++) {
        if (n == CUT) {
            uint64_t relayed[DGCN_CH_COUNT];
            for (int32_t k = 0; k < m; k++)
                dgcn_agent_state_save(r.agent[k], state + k * 2 * p, counters[k], relayed, NULL);
        }
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = n};
        s_run_jobs(jobs, m);
    }
    for (int32_t k = 0; k < m; k++)
        memcpy(end + k * p, dgcn_agent_params(r.agent[k]), (size_t)p * sizeof *end);
    s_run_fini(&r);
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    for (int32_t k = 0; k < m; k++)
        ck_assert_int_eq(dgcn_agent_state_load(r.agent[k], state + k * 2 * p, 2 * p, counters[k],
                                               NULL, NULL),
                         DGCN_OK);
    for (int64_t n = CUT; n < STEPS; n++) {
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = n};
        s_run_jobs(jobs, m);
    }
    double spread = 0.0;
    for (int32_t k = 0; k < m; k++) {
        ck_assert_msg(memcmp(end + k * p, dgcn_agent_params(r.agent[k]), (size_t)p * sizeof *end) ==
                          0,
                      "agent %d: resumed theta differs", k);
        spread = fmax(spread, s_max_abs_diff(end + k * p, end, p));
    }
    ck_assert_double_gt(spread, 0.0); /* the copies differ: a real consensus run */
    free(state);
    free(end);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* Centralized Adam (nn/optim.h, PyTorch's form) on the whole graph, n steps from theta. */
static void s_central_adam(const fixture *f, float *theta, double lr, int n) {
    dgcn_block cb = s_central_block(f);
    dgcn_gcn *cg = NULL;
    ck_assert_int_eq(dgcn_gcn_new(&cg, &f->cfg, &cb, NULL, NULL), DGCN_OK);
    float *g = malloc((size_t)f->n_params * sizeof *g);
    dgcn_adam adam = {0};
    ck_assert_int_eq(dgcn_adam_init(&adam, f->n_params), DGCN_OK);
    for (int it = 0; it < n; it++) {
        ck_assert_int_eq(dgcn_gcn_forward(cg, theta, 1, 1, it, NULL), DGCN_OK);
        ck_assert_int_eq(dgcn_gcn_backward(cg, theta, g), DGCN_OK);
        dgcn_adam_step(&adam, theta, g, (float)lr, 0.9f, 0.999f, 1e-8f);
    }
    dgcn_adam_fini(&adam);
    free(g);
    dgcn_gcn_destroy(&cg);
}

/* Complete topology, uniform weights 1/M, dropout on: gt-adam steps on the mixed tracker, which is
 * then the centralized gradient, so every agent follows centralized Adam. */
START_TEST(test_gt_adam_matches_central_adam) {
    static const int32_t ms[] = {3, 5};
    const int32_t m = ms[_i % 2];
    const int32_t gossip = _i < 2 ? 1 : 3; /* extra rounds of an exact average change nothing */
    const int n_iter = 20;
    const double lr = 0.01;
    fixture f;
    s_fixture_init(&f, 0.5f, NULL, 0, NULL);
    float *theta_c = malloc((size_t)f.n_params * sizeof *theta_c);
    memcpy(theta_c, f.theta0, (size_t)f.n_params * sizeof *theta_c);
    s_central_adam(&f, theta_c, lr, n_iter);
    double moved = s_max_abs_diff(theta_c, f.theta0, f.n_params);
    ck_assert_double_gt(moved, 0.1); /* 20 Adam steps of 0.01 */
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, lr);
    opts.consensus.grad_scale = 0.0; /* M */
    opts.consensus.gossip_rounds = gossip;
    run r;
    s_run_init(&r, &f, m, 0, NULL, &opts, 0);
    job jobs[MAX_M];
    for (int it = 0; it < n_iter; it++) {
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = it};
        s_run_jobs(jobs, m);
    }
    double worst = 0.0;
    for (int32_t k = 0; k < m; k++)
        worst = fmax(worst, s_max_abs_diff(dgcn_agent_params(r.agent[k]), theta_c, f.n_params));
    fprintf(stderr,
            "gt-adam M = %d, %d gossip round(s): max |theta_k - theta_central_adam| = %.3g "
            "(moved %.3g)\n",
            m, gossip, worst, moved);
    ck_assert_msg(worst <= 1e-4, "gt-adam M = %d: deviation %g from centralized Adam", m, worst);
    s_run_fini(&r);
    free(theta_c);
    s_fixture_fini(&f);
}
END_TEST

/* (d) gradient tracking on a ring (cross edges between non-adjacent agents dropped), agents
 * starting from different weights: the consensus error falls below 1e-3 and the global training
 * loss goes down with the centralized one. */
START_TEST(test_gt_ring) {
    const int32_t m = 5;
    const int n_iter = 150;
    const double alpha = 5.0;
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);

    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_GT, alpha);
    opts.consensus.grad_scale = 0.0;
    opts.init_seed = 3;
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);

    float *theta_c = calloc((size_t)f.n_params, sizeof *theta_c);
    for (int32_t k = 0; k < m; k++) {
        const float *th = dgcn_agent_params(r.agent[k]);
        for (int64_t i = 0; i < f.n_params; i++) theta_c[i] += th[i] / (float)m;
    }
    double *loss_c = malloc((size_t)(n_iter + 1) * sizeof *loss_c);
    s_central_gd(&f, theta_c, alpha, n_iter, loss_c);

    float *avg = malloc((size_t)f.n_params * sizeof *avg);
    job jobs[MAX_M];
    double cons_first = -1.0, cons = 0.0, loss_d = 0.0;
    for (int it = 0; it < n_iter; it++) {
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = it};
        s_run_jobs(jobs, m);
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_EVALUATE, .iter = it};
        s_run_jobs(jobs, m);
        memset(avg, 0, (size_t)f.n_params * sizeof *avg);
        for (int32_t k = 0; k < m; k++) {
            const float *th = dgcn_agent_params(r.agent[k]);
            for (int64_t i = 0; i < f.n_params; i++) avg[i] += th[i] / (float)m;
        }
        double num = 0.0, den = 0.0;
        for (int32_t k = 0; k < m; k++) {
            const float *th = dgcn_agent_params(r.agent[k]);
            for (int64_t i = 0; i < f.n_params; i++) {
                double d = (double)th[i] - avg[i];
                num += d * d;
            }
        }
        for (int64_t i = 0; i < f.n_params; i++) den += (double)avg[i] * avg[i];
        cons = sqrt(num / m) / sqrt(den);
        if (cons_first < 0) cons_first = cons;
        loss_d = 0.0;
        for (int32_t k = 0; k < m; k++) loss_d += jobs[k].ev.loss_sum[DGCN_SPLIT_TRAIN];
        loss_d /= f.ds.n_train;
        if (it >= 20)
            ck_assert_msg(fabs(loss_d - loss_c[it + 1]) < 0.15 * loss_c[it + 1],
                          "iteration %d: distributed loss %g vs centralized %g", it, loss_d,
                          loss_c[it + 1]);
        if (it % 30 == 0 || it == n_iter - 1)
            fprintf(stderr,
                    "gt ring M = %d, iteration %d: consensus error %.3g, loss %.5f "
                    "(centralized %.5f)\n",
                    m, it, cons, loss_d, loss_c[it + 1]);
    }
    ck_assert_msg(cons < 1e-3 && cons < cons_first, "consensus error %g (first %g)", cons,
                  cons_first);
    ck_assert_double_lt(loss_d, 0.5 * loss_c[0]);
    ck_assert_msg(fabs(loss_d - loss_c[n_iter]) < 0.1 * loss_c[n_iter],
                  "distributed loss %g vs centralized %g", loss_d, loss_c[n_iter]);
    ck_assert_ptr_nonnull(dgcn_agent_tracker(r.agent[0]));
    free(avg);
    free(loss_c);
    free(theta_c);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* A silent neighbour ends the pass at the deadline with a message naming the agent and the
 * iteration; a neighbour running a different pass (evaluation vs training step of the same
 * iteration) is refused instead of mixed in. */
START_TEST(test_deadline_and_mismatch) {
    fixture f;
    s_fixture_init(&f, 0.0f, NULL, 0, NULL);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    run r;
    s_run_init(&r, &f, 2, 0, NULL, &opts, 0);
    ck_assert_int_gt(r.shards[0].n_peers, 0);
    /* shorten the deadline of both endpoints */
    r.t[0]->deadline_ms = 300;
    r.t[1]->deadline_ms = 300;
    job jobs[2];
    jobs[0] = (job){.agent = r.agent[0], .kind = JOB_STEP, .iter = 4};
    s_job_main(&jobs[0]);
    ck_assert_int_eq(jobs[0].rc, DGCN_ETIMEDOUT);
    ck_assert_msg(strstr(jobs[0].msg, "iteration 4") != NULL, "message: %s", jobs[0].msg);
    fprintf(stderr, "silent neighbour: %s\n", jobs[0].msg);
    s_run_fini(&r);

    s_run_init(&r, &f, 2, 0, NULL, &opts, 0);
    r.t[0]->deadline_ms = 1000;
    r.t[1]->deadline_ms = 1000;
    jobs[0] = (job){.agent = r.agent[0], .kind = JOB_EVALUATE, .iter = 2};
    jobs[1] = (job){.agent = r.agent[1], .kind = JOB_STEP, .iter = 2};
    pthread_t th[2];
    for (int k = 0; k < 2; k++)
        ck_assert_int_eq(pthread_create(&th[k], NULL, s_job_main, &jobs[k]), 0);
    for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
    for (int k = 0; k < 2; k++) {
        ck_assert_msg(jobs[k].rc == DGCN_EPROTO || jobs[k].rc == DGCN_ETIMEDOUT,
                      "agent %d: %s (%s)", k, dgcn_strerror(jobs[k].rc), jobs[k].msg);
    }
    ck_assert_msg(jobs[0].rc == DGCN_EPROTO || jobs[1].rc == DGCN_EPROTO, "%s / %s", jobs[0].msg,
                  jobs[1].msg);
    fprintf(stderr, "mismatched passes: %s | %s\n", jobs[0].msg, jobs[1].msg);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* ---- the run configuration from its wire form ---- */

START_TEST(test_run_config_from_ctl) {
    dgcn_run_config a = dgcn_run_config_defaults(1433, 7), b;
    a.mode = DGCN_RUN_TRAIN;
    a.model.kind = DGCN_MODEL_MLP;
    a.consensus = dgcn_consensus_defaults(DGCN_CONSENSUS_GT_ADAM, 0.01);
    a.consensus.step.decay = 100;
    a.consensus.step.power = 0.5;
    a.iterations = 200;
    a.eval_every = 20;
    a.final_mixing = 5;
    a.init_seed = 11;
    a.dropout_seed = 12;
    a.report_params = 1;
    a.consensus.gossip_rounds = 3;
    a.consensus.gossip_accel = DGCN_GOSSIP_CHEBYSHEV;
    a.consensus.gossip_rho = 0.75;
    a.init_per_agent = 1;
    a.dropout_per_agent = 1;
    strcpy(a.plan, "/runs/x/plan");
    a.model.order = 3;
    a.task = DGCN_TASK_REGRESSION;
    a.batch = 32;
    a.batch_seed = 13;
    dgcn_ctl_config ok;
    dgcn_run_config_to_ctl(&a, &ok);
    ck_assert_msg(dgcn_run_config_from_ctl(&b, &ok) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert(b.mode == a.mode && b.model.kind == a.model.kind && b.model.n_layers == 2);
    ck_assert_int_eq(memcmp(b.model.dims, a.model.dims, 3 * sizeof *a.model.dims), 0);
    ck_assert(b.model.dropout == a.model.dropout && b.model.weight_decay == a.model.weight_decay);
    ck_assert_int_eq(memcmp(&b.consensus, &a.consensus, sizeof a.consensus), 0);
    ck_assert(b.iterations == 200 && b.eval_every == 20 && b.final_mixing == 5);
    ck_assert(b.init_seed == 11 && b.dropout_seed == 12 && b.training == 0 && b.report_params == 1);
    ck_assert_str_eq(b.plan, "/runs/x/plan");
    ck_assert_int_eq(b.model.order, 3);
    ck_assert(b.consensus.gossip_rounds == 3 && b.init_per_agent == 1 && b.dropout_per_agent == 1);
    ck_assert(b.task == DGCN_TASK_REGRESSION && b.batch == 32 && b.batch_seed == 13);

    /* one bad field at a time: DGCN_EINVAL naming it, *c untouched */
    enum { N_BAD = 45 };
    dgcn_ctl_config bad[N_BAD];
    const char *field[N_BAD];
    int n = 0;
#define S_BAD(name, stmt)                                                                          \
    do {                                                                                           \
        bad[n] = ok;                                                                               \
        dgcn_ctl_config *c = &bad[n];                                                              \
        stmt;                                                                                      \
        field[n++] = name;                                                                         \
    } while (0)
    S_BAD("mode", c->mode = 2);
    S_BAD("mode", c->mode = -1);
    S_BAD("model", c->model = 3); /* 2 is the filter */
    S_BAD("dims", c->n_dims = 1);
    S_BAD("dims", c->n_dims = DGCN_MAX_LAYERS + 2);
    S_BAD("dims", c->dims[1] = 0);
    S_BAD("dropout", c->dropout = NAN);
    S_BAD("weight_decay", c->weight_decay = NAN);
    S_BAD("optimizer", c->optimizer = 5);
    S_BAD("optimizer", c->optimizer = -1);
    S_BAD("lr", c->lr = NAN);
    S_BAD("lr_decay", c->lr_decay = NAN);
    S_BAD("lr_power", c->lr_power = NAN);
    S_BAD("grad_scale", c->grad_scale = NAN);
    S_BAD("beta1", c->beta1 = NAN);
    S_BAD("beta2", c->beta2 = NAN);
    S_BAD("eps", c->eps = NAN);
    S_BAD("iterations", c->iterations = -1);
    S_BAD("iterations", c->iterations = (INT64_C(1) << 40) + 1);
    S_BAD("eval_every", c->eval_every = 0);
    S_BAD("eval_every", c->eval_every = (INT64_C(1) << 40) + 1);
    S_BAD("final_mixing", c->final_mixing = -1);
    S_BAD("final_mixing", c->final_mixing = (INT64_C(1) << 20) + 1);
    S_BAD("training", c->training = 2);
    S_BAD("training", c->training = -1);
    S_BAD("report_params", c->report_params = 2);
    S_BAD("report_params", c->report_params = -1);
    S_BAD("plan", memset(c->plan, 'p', sizeof c->plan));
    S_BAD("order", c->order = -1);
    S_BAD("order", c->order = DGCN_MAX_ORDER + 1);
    S_BAD("gossip_rounds", c->gossip_rounds = 0);
    S_BAD("gossip_rounds", c->gossip_rounds = DGCN_GOSSIP_MAX + 1);
    S_BAD("init_per_agent", c->init_per_agent = 2);
    S_BAD("init_per_agent", c->init_per_agent = -1);
    S_BAD("dropout_per_agent", c->dropout_per_agent = 2);
    S_BAD("dropout_per_agent", c->dropout_per_agent = -1);
    S_BAD("gossip_accel", c->gossip_accel = 2);
    S_BAD("gossip_accel", c->gossip_accel = -1);
    S_BAD("gossip_rho", c->gossip_rho = 1.0);
    S_BAD("gossip_rho", c->gossip_rho = -0.5);
    S_BAD("gossip_rho", c->gossip_rho = NAN);
    S_BAD("task", c->task = 2);
    S_BAD("task", c->task = -1);
    S_BAD("batch", c->batch = 0);
    S_BAD("batch", c->batch = (1 << 20) + 1);
#undef S_BAD
    ck_assert_int_eq(n, N_BAD);
    for (int i = 0; i < n; i++) {
        dgcn_run_config c = a;
        ck_assert_msg(dgcn_run_config_from_ctl(&c, &bad[i]) == DGCN_EINVAL, "case %d (%s) accepted",
                      i, field[i]);
        char want[64];
        snprintf(want, sizeof want, "config %s", field[i]);
        ck_assert_msg(strstr(dgcn_error_msg(), want), "case %d: '%s' does not name %s", i,
                      dgcn_error_msg(), field[i]);
        ck_assert_int_eq(memcmp(&c, &a, sizeof c), 0);
    }
    /* the edges of the ranges are accepted */
    dgcn_ctl_config edge = ok;
    edge.iterations = 0;
    edge.eval_every = INT64_C(1) << 40;
    edge.final_mixing = INT64_C(1) << 20;
    edge.gossip_rounds = DGCN_GOSSIP_MAX;
    edge.n_dims = DGCN_MAX_LAYERS + 1;
    for (int l = 0; l < edge.n_dims; l++) edge.dims[l] = 1;
    ck_assert_msg(dgcn_run_config_from_ctl(&b, &edge) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_eq(b.model.n_layers, DGCN_MAX_LAYERS);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * a session that cannot start */

static void s_sentinel(int sig) { (void)sig; }

/* Every failure of dgcn_session_start leaves nothing behind: the caller's SIGINT and SIGTERM
 * handlers are back (and, under ASan, nothing leaks). */
START_TEST(test_session_start_fails_cleanly) {
    struct sigaction mine, old_int, old_term, cur;
    memset(&mine, 0, sizeof mine);
    mine.sa_handler = s_sentinel;
    sigemptyset(&mine.sa_mask);
    sigaction(SIGINT, &mine, &old_int);
    sigaction(SIGTERM, &mine, &old_term);
    static const char *bad[][3] = {
        {"zmq", NULL, "run directory"},        /* ipc without a run directory */
        {"pigeon://coop", "/tmp", "'pigeon'"}, /* unknown scheme */
        {"inproc://", NULL, "no name"},        /* the hub cannot open */
        {"mpi", NULL, "MPI"},                  /* not a job */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        dgcn_session *s = NULL;
        dgcn_session_opts o = {bad[i][0], 2, 1000, bad[i][1], NULL, NULL, 0, NULL, 0, NULL, 0};
        int rc = dgcn_session_start(&s, &o);
        ck_assert_msg(rc != DGCN_OK && strstr(dgcn_error_msg(), bad[i][2]), "%s: %s (%s)",
                      bad[i][0], dgcn_strerror(rc), dgcn_error_msg());
        ck_assert_ptr_null(s);
        sigaction(SIGINT, NULL, &cur);
        ck_assert_msg(cur.sa_handler == s_sentinel, "%s: SIGINT handler not restored", bad[i][0]);
        sigaction(SIGTERM, NULL, &cur);
        ck_assert_msg(cur.sa_handler == s_sentinel, "%s: SIGTERM handler not restored", bad[i][0]);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
}
END_TEST

/* Runs the start-up of a 3-agent zmq session whose agent 1 never says Hello (its program is a
 * wrapper that sleeps instead); the others run with --deadline-ms agent_deadline. Returns the
 * code of dgcn_session_setup and its message in msg. */
/* the coordinator's deadline: long enough for agents 0 and 2 to start and say Hello on a loaded
 * machine (1 s was not, at load 8-15: "heard from 1 of 3") */
#define S_HELLO_DEADLINE_MS 4000

static int s_start_without_agent_1(int agent_deadline, char *msg, size_t cap) {
    char dir[] = "/tmp/dgcn-hello-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char prog[128];
    snprintf(prog, sizeof prog, "%s/agent.sh", dir);
    FILE *f = fopen(prog, "w");
    ck_assert_ptr_nonnull(f);
    fprintf(f,
            "#!/bin/sh\n"
            "case \" $* \" in *\" --agent 1 \"*) exec sleep 60 ;; esac\n"
            "for a do shift; [ \"$prev\" = --deadline-ms ] && a=%d; set -- \"$@\" \"$a\"; "
            "prev=$a; done\n"
            "exec '%s' \"$@\"\n",
            agent_deadline, DGCN_BINARY);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_int_eq(chmod(prog, 0700), 0);
    dgcn_session *s = NULL;
    dgcn_session_opts o = {"zmq", 3, S_HELLO_DEADLINE_MS, dir, NULL, prog, 0, NULL, 0, NULL, 0};
    ck_assert_msg(dgcn_session_start(&s, &o) == DGCN_OK, "%s", dgcn_error_msg());
    dgcn_ctl_setup setups[3];
    memset(setups, 0, sizeof setups);
    int rc = dgcn_session_setup(s, setups);
    snprintf(msg, cap, "%s", dgcn_error_msg());
    dgcn_session_destroy(&s);
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    for (struct dirent *e; (e = readdir(d));) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) unlink(path);
    }
    closedir(d);
    rmdir(dir);
    return rc;
}

/* When an agent stays silent before saying Hello (agent 1 of 3 never starts), the start-up error
 * names exactly the agents the coordinator did not hear from, not the two that said Hello:
 * whether the others give up waiting for their set-up first (the same deadline as the
 * coordinator's) or the coordinator's own wait ends first (the others wait 20 s). */
START_TEST(test_session_names_agents_without_hello) {
    static const int agent_deadline[2] = {S_HELLO_DEADLINE_MS, 20000};
    for (int i = 0; i < 2; i++) {
        char msg[1024];
        int rc = s_start_without_agent_1(agent_deadline[i], msg, sizeof msg);
        ck_assert_msg(rc == DGCN_ETIMEDOUT, "agents' deadline %d ms: setup returned %s: %s",
                      agent_deadline[i], dgcn_strerror(rc), msg);
        ck_assert_msg(strstr(msg, "no hello from agent(s) 1 ") &&
                          strstr(msg, "(heard from 2 of 3;"),
                      "agents' deadline %d ms: the error does not name exactly agent 1: %s",
                      agent_deadline[i], msg);
        fprintf(stderr, "agents' deadline %d ms: %s\n", agent_deadline[i], msg);
    }
}
END_TEST

/* ---- relay ---------------------------------------------------------------------------------
 * The suite links with -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc (tests/agent.cmake): every
 * allocation made from dgcn's code or this file passes through these counters while s_counting. */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
static volatile int s_counting;
static _Atomic long s_allocs;
void *__wrap_malloc(size_t n) {
    if (s_counting) s_allocs++;
    return __real_malloc(n);
}
void *__wrap_calloc(size_t n, size_t size) {
    if (s_counting) s_allocs++;
    return __real_calloc(n, size);
}
void *__wrap_realloc(void *p, size_t n) {
    if (s_counting) s_allocs++;
    return __real_realloc(p, n);
}

/* (g) cross-edge policy relay on sparse topologies (random partition of 6, so most agent pairs
 * share data edges and most lack a link): with the same weights everywhere the logits and the
 * summed gradients equal the centralized ones (dropout on), the relayed bytes equal the plan's
 * prediction, and a training step after the first allocates nothing per message, in the agent or
 * in the inproc transport (only the transport's pools may still grow, rarely). The fourth case
 * is the ring with compressed halo rows (q8, stochastic rounding, error feedback on both
 * channels: nn/halo_codec.h): the logits and gradients then differ from the centralized ones, by
 * less than q8's bound allows, the relayed bytes are the encoded ones (fewer than the plan's
 * float32 rows), and the warm training step still allocates nothing. */
START_TEST(test_relay_equivalence) {
    static const char *topos[] = {"ring", "line", "star", "ring"};
    const char *topo = topos[_i];
    const int coded = _i == 3;
    const int32_t m = 6;
    fixture f;
    s_fixture_init(&f, 0.5f, NULL, 0, NULL);
    const int64_t iter = 2;
    const uint64_t dseed = 9;
    dgcn_block cb = s_central_block(&f);
    dgcn_gcn *cg = NULL;
    ck_assert_msg(dgcn_gcn_new(&cg, &f.cfg, &cb, NULL, NULL) == DGCN_OK, "%s", dgcn_error_msg());
    float *g_c = malloc((size_t)f.n_params * sizeof *g_c);
    ck_assert_int_eq(dgcn_gcn_forward(cg, f.theta0, 1, dseed, iter, NULL), DGCN_OK);
    ck_assert_int_eq(dgcn_gcn_backward(cg, f.theta0, g_c), DGCN_OK);
    const int32_t c = f.ds.c;

    dgcn_plan plan;
    dgcn_plan_opts po;
    dgcn_plan_defaults(&po);
    po.agents = m;
    po.partition = "random";
    po.seed = 3;
    po.topology = topo;
    po.cross_edges = "relay";
    ck_assert_msg(dgcn_plan_build(&plan, &f.ds, &f.a_hat, &po) == DGCN_OK, "%s", dgcn_error_msg());
    ck_assert_int_gt(plan.hops_max, 1); /* some rows are relayed */
    ck_assert(!dgcn_topo_contains(&plan.topo, &plan.required));

    char address[128];
    dgcn_hub *hub = s_open_fabric(m, 20000, address, sizeof address);
    dgcn_transport *t[MAX_M];
    dgcn_agent *ag[MAX_M];
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.dropout_seed = dseed;
    if (coded) {
        opts.halo_codec = DGCN_HALO_Q8;
        opts.halo_rounding = DGCN_HALO_STOCHASTIC;
        opts.halo_feedback = DGCN_HALO_FEEDBACK_ALL;
        opts.halo_seed = 5;
    }
    for (int32_t k = 0; k < m; k++) {
        int32_t nb[MAX_M], n_nb = 0;
        double row[MAX_M + 1];
        row[0] = dgcn_mixing_get(&plan.c, k, k);
        for (int32_t j = 0; j < m; j++)
            if (dgcn_topo_has(&plan.topo, k, j)) {
                nb[n_nb] = j;
                row[++n_nb] = dgcn_mixing_get(&plan.c, k, j);
            }
        t[k] = s_open_agent(address, k, m, 20000, nb, n_nb);
        ck_assert_msg(dgcn_agent_new(&ag[k], &plan.shards[k], &f.cfg, t[k], row, &opts) == DGCN_OK,
                      "agent %d: %s", k, dgcn_error_msg());
        ck_assert_int_eq(dgcn_agent_set_params(ag[k], f.theta0), DGCN_OK);
        ck_assert_int_eq(dgcn_agent_rounds(ag[k]), plan.hops_max);
    }
    job jobs[MAX_M];
    float *g_k = malloc((size_t)m * f.n_params * sizeof *g_k);
    for (int32_t k = 0; k < m; k++)
        jobs[k] = (job){.agent = ag[k],
                        .kind = JOB_GRADIENT,
                        .iter = iter,
                        .training = 1,
                        .grad = g_k + (int64_t)k * f.n_params};
    s_run_jobs(jobs, m);

    float *logit_d = calloc((size_t)f.ds.n * c, sizeof *logit_d);
    float *g_sum = calloc((size_t)f.n_params, sizeof *g_sum);
    uint64_t relayed[2] = {0, 0};
    for (int32_t k = 0; k < m; k++) {
        const float *lk = dgcn_agent_logits(ag[k]);
        for (int32_t i = 0; i < plan.shards[k].n_own; i++)
            memcpy(logit_d + (int64_t)plan.shards[k].gid[i] * c, lk + (int64_t)i * c,
                   (size_t)c * sizeof *lk);
        for (int64_t i = 0; i < f.n_params; i++) g_sum[i] += g_k[(int64_t)k * f.n_params + i];
        relayed[0] += dgcn_agent_relayed_bytes(ag[k], DGCN_CH_HALO_FWD);
        relayed[1] += dgcn_agent_relayed_bytes(ag[k], DGCN_CH_HALO_BWD);
    }
    double e_logit = s_rel_err(logit_d, dgcn_gcn_logits(cg), (int64_t)f.ds.n * c);
    double e_grad = s_rel_err(g_sum, g_c, f.n_params);
    uint64_t pred = dgcn_plan_relay_bytes(&plan, f.cfg.dims + 1, f.cfg.n_layers);
    ck_assert_uint_gt(pred, 0);
    if (coded) { /* q8: at most one scale step (1/127 of a row's largest value) per halo value */
        ck_assert_msg(e_logit > 1e-6 && e_logit <= 0.05, "%s q8: logits rel err %g", topo, e_logit);
        ck_assert_msg(e_grad > 1e-6 && e_grad <= 0.5, "%s q8: gradient rel err %g", topo, e_grad);
        ck_assert(relayed[0] > 0 && relayed[0] < pred / 2 && relayed[1] < pred / 2);
    } else {
        ck_assert_msg(e_logit <= 1e-5, "%s: logits rel err %g", topo, e_logit);
        ck_assert_msg(e_grad <= 1e-5, "%s: gradient rel err %g", topo, e_grad);
        ck_assert_uint_eq(relayed[0], pred);
        ck_assert_uint_eq(relayed[1], pred);
    }
    fprintf(stderr, "relay %s M = %d, %d hops: logits rel err %.3g, gradient rel err %.3g\n", topo,
            m, plan.hops_max, e_logit, e_grad);

    /* training steps: the first three warm the transport's buffer pools (one was not always
     * enough on a loaded machine, where the threads meet at concurrencies a single step had not
     * reached); in the last, neither the agents nor the transport allocate anything per message:
     * every allocation is the inproc mailboxes' pool growing to a concurrency it had not met yet
     * (counted by the transport) */
    enum { S_WARM_STEPS = 3 };
    pthread_t th[MAX_M];
    uint64_t msgs = 0, pool_allocs = 0;
    for (int pass = 0; pass <= S_WARM_STEPS; pass++) {
        msgs = pool_allocs = 0;
        for (int32_t k = 0; k < m; k++) {
            dgcn_traffic tr = dgcn_agent_traffic(ag[k]);
            for (int ch = 0; ch < DGCN_CH_COUNT; ch++) msgs -= tr.messages[ch];
            pool_allocs -= tr.allocations;
            jobs[k] = (job){.agent = ag[k], .kind = JOB_STEP, .iter = iter + 1 + pass};
        }
        s_allocs = 0;
        s_counting = pass == S_WARM_STEPS;
        for (int32_t k = 0; k < m; k++) pthread_create(&th[k], NULL, s_job_main, &jobs[k]);
        for (int32_t k = 0; k < m; k++) pthread_join(th[k], NULL);
        s_counting = 0;
        for (int32_t k = 0; k < m; k++) {
            ck_assert_msg(jobs[k].rc == DGCN_OK, "agent %d: %s", k, jobs[k].msg);
            dgcn_traffic tr = dgcn_agent_traffic(ag[k]);
            for (int ch = 0; ch < DGCN_CH_COUNT; ch++) msgs += tr.messages[ch];
            pool_allocs += tr.allocations;
        }
    }
    ck_assert_uint_gt(msgs, 0);
    ck_assert_msg((uint64_t)s_allocs == pool_allocs,
                  "%ld allocations in a warm training step of %llu messages, %llu of them the "
                  "pools'",
                  (long)s_allocs, (unsigned long long)msgs, (unsigned long long)pool_allocs);
    ck_assert_msg(pool_allocs < msgs / 4, "the pools grew %llu times in %llu messages",
                  (unsigned long long)pool_allocs, (unsigned long long)msgs);

    for (int32_t k = 0; k < m; k++) {
        dgcn_agent_destroy(&ag[k]);
        dgcn_transport_close(&t[k]);
    }
    dgcn_hub_close(&hub);
    free(g_sum);
    free(logit_d);
    free(g_k);
    dgcn_plan_fini(&plan);
    free(g_c);
    dgcn_gcn_destroy(&cg);
    s_fixture_fini(&f);
}
END_TEST

/* ---------------------------------------------------------------------------------------------
 * time-varying links (agent/links.h) */

/* The failure draw is symmetric in the two ends, near P in frequency, and the params row of a
 * failed link moves its weight to the self weight (the row still sums to 1); a schedule's phase
 * is (iteration / every) mod period, and its zero weights are skipped links. */
START_TEST(test_links_pure) {
    int hits = 0, n = 20000;
    for (int i = 0; i < n; i++) {
        int f = dgcn_links_fails(5, 0.3, 2, i / 7, i % 7, i % 11, 20 + i % 13);
        ck_assert_int_eq(f, dgcn_links_fails(5, 0.3, 2, i / 7, i % 7, 20 + i % 13, i % 11));
        hits += f;
    }
    ck_assert_msg(fabs((double)hits / n - 0.3) < 0.02, "failure rate %g", (double)hits / n);
    ck_assert_int_eq(dgcn_links_fails(5, 0.0, 2, 3, 0, 1, 2), 0);
    int32_t nb[3] = {1, 2, 3};
    double rows[2 * 4] = {0.5,  0.5,  0.0,  0.0, /* phase 0: link to 1 */
                          0.25, 0.25, 0.25, 0.25};
    dgcn_links l = {.self = 0, .n_nb = 3, .nb = nb, .rows = rows, .period = 2, .every = 3};
    double row[4];
    char skip[3];
    ck_assert_int_eq(dgcn_links_params(&l, NULL, 4, 0, row, skip), 0); /* phase (4 / 3) % 2 */
    ck_assert(row[0] == 0.25 && row[3] == 0.25 && !skip[0] && !skip[1] && !skip[2]);
    ck_assert_int_eq(dgcn_links_params(&l, NULL, 7, 0, row, skip), 0); /* phase 0 */
    ck_assert(row[0] == 0.5 && row[1] == 0.5 && !skip[0] && skip[1] && skip[2]);
    l.failure = 0.5;
    l.seed = 9;
    int failed_total = 0;
    for (int64_t it = 0; it < 200; it++) {
        int32_t f = dgcn_links_params(&l, NULL, it, 1, row, skip);
        failed_total += f;
        double sum = 0.0;
        for (int i = 0; i < 4; i++) sum += row[i];
        ck_assert(fabs(sum - 1.0) < 1e-12);
        int32_t count = 0;
        for (int i = 0; i < 3; i++)
            if (skip[i] && rows[((it / 3) % 2) * 4 + i + 1] > 0.0) {
                count++;
                ck_assert(row[i + 1] == 0.0);
            }
        ck_assert_int_eq(count, f);
    }
    ck_assert_int_gt(failed_total, 50);
    /* halo: never in an iteration n with n mod (S + 1) == S, never with S = 0 */
    char need[3] = {1, 1, 1};
    l.staleness = 2;
    for (int64_t it = 0; it < 60; it++) {
        int32_t f = dgcn_links_halo(&l, it, 0, 0, need, skip);
        if (it % 3 == 2) ck_assert_int_eq(f, 0);
    }
    l.staleness = 0;
    for (int64_t it = 0; it < 60; it++)
        ck_assert_int_eq(dgcn_links_halo(&l, it, 0, 0, need, skip), 0);
}
END_TEST

/* run with one options struct per agent (per-agent schedule rows) */
static void s_run_init_each(run *r, const fixture *f, int32_t m, int ring, const int32_t *owner,
                            const dgcn_agent_opts *opts /* [m] */) {
    memset(r, 0, sizeof *r);
    r->m = m;
    memcpy(r->owner, owner, (size_t)f->ds.n * sizeof *owner);
    ck_assert_msg(dgcn_shard_build_all(&f->ds, &f->a_hat, r->owner, m, 77, r->shards) == DGCN_OK,
                  "%s", dgcn_error_msg());
    r->hub = s_open_fabric(m, 20000, r->address, sizeof r->address);
    for (int32_t k = 0; k < m; k++) {
        int32_t nb[MAX_M];
        double row[MAX_M + 1];
        int32_t n_nb = s_topology(m, k, ring, nb, row);
        r->t[k] = s_open_agent(r->address, k, m, 20000, nb, n_nb);
        ck_assert_msg(dgcn_agent_new(&r->agent[k], &r->shards[k], &f->cfg, r->t[k], row,
                                     &opts[k]) == DGCN_OK,
                      "agent %d: %s", k, dgcn_error_msg());
    }
}

/* The disagreement sqrt(sum_k |theta_k - avg|^2) and the largest move of the average from mean. */
static double s_disagreement(run *r, int64_t p, const double *mean, double *mean_err) {
    double dis = 0.0;
    *mean_err = 0.0;
    for (int64_t i = 0; i < p; i++) {
        double avg = 0.0;
        for (int32_t k = 0; k < r->m; k++) avg += dgcn_agent_params(r->agent[k])[i] / r->m;
        *mean_err = fmax(*mean_err, fabs(avg - mean[i]));
        for (int32_t k = 0; k < r->m; k++) dis += pow(dgcn_agent_params(r->agent[k])[i] - avg, 2);
    }
    return sqrt(dis);
}

static double *s_param_mean(run *r, int64_t p) {
    double *mean = calloc((size_t)p, sizeof *mean);
    for (int32_t k = 0; k < r->m; k++)
        for (int64_t i = 0; i < p; i++) mean[i] += dgcn_agent_params(r->agent[k])[i] / r->m;
    return mean;
}

/* One-peer schedule on 4 agents over the complete graph: phase q pairs k with k XOR 2^q (weights
 * 1/2). Two averaging rounds give every agent the exact average (the one-peer hypercube), each
 * agent sending one params message per round; the static complete graph would send three. */
START_TEST(test_schedule_one_peer) {
    const int32_t m = 4;
    int32_t owner[1024];
    fixture f;
    s_fixture_init(&f, 0.0f, NULL, 0, NULL);
    ck_assert_int_eq(dgcn_partition(&f.ds.adj, m, DGCN_PARTITION_BFS, 5, owner), DGCN_OK);
    dgcn_agent_opts opts[4];
    double rows[4][2 * 4];
    for (int32_t k = 0; k < m; k++) {
        opts[k] = dgcn_agent_opts_defaults();
        opts[k].init_seed = 3 + 1000 * (uint64_t)k;
        int32_t nb[MAX_M];
        double row[MAX_M + 1];
        s_topology(m, k, 0, nb, row);
        for (int q = 0; q < 2; q++) {
            rows[k][q * 4] = 0.5;
            for (int i = 0; i < 3; i++)
                rows[k][q * 4 + 1 + i] = nb[i] == (k ^ (1 << q)) ? 0.5 : 0.0;
        }
        opts[k].sched_rows = rows[k];
        opts[k].sched_period = 2;
        opts[k].sched_every = 1;
    }
    run r;
    s_run_init_each(&r, &f, m, 0, owner, opts);
    const int64_t p = f.n_params;
    double *mean = s_param_mean(&r, p), err;
    ck_assert_double_gt(s_disagreement(&r, p, mean, &err), 0.1);
    job jobs[MAX_M];
    for (int rd = 0; rd < 2; rd++) {
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_MIX, .iter = rd};
        s_run_jobs(jobs, m);
    }
    double dis = s_disagreement(&r, p, mean, &err);
    ck_assert_msg(dis < 1e-5 && err < 1e-6, "disagreement %g, the average moved by %g", dis, err);
    for (int32_t k = 0; k < m; k++)
        ck_assert_uint_eq(dgcn_agent_traffic(r.agent[k]).messages[DGCN_CH_PARAMS], 2);
    free(mean);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* Link failures on a ring of 5: averaging rounds with P = 0.3 keep the average of the copies
 * exactly (both ends move a failed link's weight to their self weights: the step's matrix stays
 * doubly stochastic), still shrink the disagreement, and count the failures; a training step
 * with GT keeps the trackers' sum equal to the sum of the scaled gradients. */
START_TEST(test_link_failure_unbiased) {
    const int32_t m = 5, rounds = 30;
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.init_seed = 3;
    opts.link_failure = 0.3;
    opts.link_seed = 17;
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    const int64_t p = f.n_params;
    double *mean = s_param_mean(&r, p), err;
    double dis0 = s_disagreement(&r, p, mean, &err);
    job jobs[MAX_M];
    for (int rd = 0; rd < rounds; rd++) {
        for (int32_t k = 0; k < m; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_MIX, .iter = rd};
        s_run_jobs(jobs, m);
    }
    double dis = s_disagreement(&r, p, mean, &err);
    uint64_t failed = 0, sent = 0;
    for (int32_t k = 0; k < m; k++) {
        failed += dgcn_agent_link_failures(r.agent[k], DGCN_CH_PARAMS);
        sent += dgcn_agent_traffic(r.agent[k]).messages[DGCN_CH_PARAMS];
    }
    ck_assert_msg(err < 1e-6, "the average moved by %g", err);
    ck_assert_msg(dis < 0.05 * dis0, "disagreement %g from %g", dis, dis0);
    ck_assert_uint_eq(failed + sent, (uint64_t)rounds * m * 2); /* every message sent or failed */
    ck_assert_msg(failed > 0.15 * rounds * m * 2 && failed < 0.45 * rounds * m * 2,
                  "%llu of %d failed", (unsigned long long)failed, rounds * m * 2);
    free(mean);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

/* A failed forward halo message leaves the last delivered rows: after an evaluation at theta (no
 * failures, no dropout), a training step at the same theta in which nearly every halo message
 * fails computes the same training loss; the halo failures are counted, and with P = 0 nothing
 * fails and the run is bit for bit the one without link options. */
START_TEST(test_halo_stale_rows) {
    const int32_t m = 3;
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    for (int variant = 0; variant < 2; variant++) {
        dgcn_agent_opts opts = dgcn_agent_opts_defaults();
        opts.link_failure = variant == 0 ? 0.999 : 0.0;
        opts.halo_staleness = 1000;
        opts.link_seed = 5;
        run r, base;
        s_run_init(&r, &f, m, 1, owner, &opts, 0);
        dgcn_agent_opts plain = dgcn_agent_opts_defaults();
        s_run_init(&base, &f, m, 1, owner, &plain, 0);
        job jobs[MAX_M], bj[MAX_M];
        for (int32_t k = 0; k < m; k++) {
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_EVALUATE, .iter = 0};
            bj[k] = (job){.agent = base.agent[k], .kind = JOB_EVALUATE, .iter = 0};
        }
        s_run_jobs(jobs, m);
        s_run_jobs(bj, m);
        double eval_loss = 0.0;
        for (int32_t k = 0; k < m; k++) eval_loss += jobs[k].ev.loss_sum[DGCN_SPLIT_TRAIN];
        for (int it = 0; it < 3; it++) {
            for (int32_t k = 0; k < m; k++) {
                jobs[k] = (job){.agent = r.agent[k], .kind = JOB_STEP, .iter = it};
                bj[k] = (job){.agent = base.agent[k], .kind = JOB_STEP, .iter = it};
            }
            s_run_jobs(jobs, m);
            s_run_jobs(bj, m);
            double step_loss = 0.0;
            for (int32_t k = 0; k < m; k++) step_loss += jobs[k].ev.loss_sum[DGCN_SPLIT_TRAIN];
            if (it == 0 && variant == 0)
                ck_assert_msg(fabs(step_loss - eval_loss) <= 1e-9 * fabs(eval_loss),
                              "loss with the last delivered halo rows %.12g, evaluated %.12g",
                              step_loss, eval_loss);
        }
        uint64_t fwd = 0, bwd = 0;
        int same = 1;
        for (int32_t k = 0; k < m; k++) {
            fwd += dgcn_agent_link_failures(r.agent[k], DGCN_CH_HALO_FWD);
            bwd += dgcn_agent_link_failures(r.agent[k], DGCN_CH_HALO_BWD);
            same &= !memcmp(dgcn_agent_params(r.agent[k]), dgcn_agent_params(base.agent[k]),
                            (size_t)f.n_params * sizeof(float));
        }
        uint64_t sent = 0, sent_base = 0;
        for (int32_t k = 0; k < m; k++) {
            sent += dgcn_agent_traffic(r.agent[k]).messages[DGCN_CH_HALO_FWD];
            sent_base += dgcn_agent_traffic(base.agent[k]).messages[DGCN_CH_HALO_FWD];
        }
        ck_assert_uint_eq(sent + fwd, sent_base); /* a failed message is not sent */
        if (variant == 0) {
            ck_assert_uint_gt(fwd, 0);
            ck_assert_uint_gt(bwd, 0);
            ck_assert_msg(!same, "halo failures changed nothing");
        } else {
            ck_assert_uint_eq(fwd + bwd, 0);
            ck_assert_msg(same, "P = 0 is not bit for bit the run without link options");
        }
        s_run_fini(&r);
        s_run_fini(&base);
    }
    s_fixture_fini(&f);
}
END_TEST

/* An agent that leaves (comm/transport.h: lost): on a ring of 5 whose agent 4 is gone, its two
 * neighbours drop it, moving its weight to their self weights, so averaging rounds among the four
 * left keep their average exactly and bring them together; its halo rows are zero (its nodes leave
 * the graph), so an evaluation of the four runs without it. */
START_TEST(test_agent_lost) {
    const int32_t m = 5, rounds = 30, gone = 4;
    int32_t owner[1024];
    fixture f;
    s_ring_fixture(&f, m, owner);
    dgcn_agent_opts opts = dgcn_agent_opts_defaults();
    opts.init_seed = 3;
    run r;
    s_run_init(&r, &f, m, 1, owner, &opts, 1);
    for (int32_t k = 0; k < m; k++) { /* what the transport does when the link closes */
        dgcn_transport *t = r.t[k];
        for (int32_t i = 0; i < t->n_neighbors; i++)
            if (t->neighbors[i] == gone) {
                t->lost[i] = 1;
                t->n_lost++;
            }
    }
    const int64_t p = f.n_params;
    r.m = m - 1; /* the four left, for s_disagreement and s_param_mean */
    double *mean = s_param_mean(&r, p), err;
    double dis0 = s_disagreement(&r, p, mean, &err);
    job jobs[MAX_M];
    for (int rd = 0; rd < rounds; rd++) {
        for (int32_t k = 0; k < m - 1; k++)
            jobs[k] = (job){.agent = r.agent[k], .kind = JOB_MIX, .iter = rd};
        s_run_jobs(jobs, m - 1);
    }
    double dis = s_disagreement(&r, p, mean, &err);
    ck_assert_msg(err < 1e-6, "the average of the agents left moved by %g", err);
    ck_assert_msg(dis < 0.01 * dis0, "disagreement %g from %g", dis, dis0);
    for (int32_t k = 0; k < m - 1; k++)
        jobs[k] = (job){.agent = r.agent[k], .kind = JOB_EVALUATE, .iter = rounds};
    s_run_jobs(jobs, m - 1);
    r.m = m;
    free(mean);
    s_run_fini(&r);
    s_fixture_fini(&f);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"step_schedule", test_step_schedule, 0, 0},
        {"config_check", test_config_check, 0, 0},
        {"run_config_from_ctl", test_run_config_from_ctl, 0, 0},
        {"dgd_values", test_dgd_values, 0, 0},
        {"dgd_atc_values", test_dgd_atc_values, 0, 0},
        {"consensus_state_resume", test_consensus_state_resume, 0, 0},
        {"gt_values", test_gt_values, 0, 0},
        {"gt_adam_values", test_gt_adam_values, 0, 0},
        {"gt_adam_steps_on_mixed_tracker", test_gt_adam_steps_on_mixed_tracker, 0, 0},
        {"gt_tracking_invariant", test_gt_tracking_invariant, 0, 0},
        {"equivalence", test_equivalence, 4, 120},
        {"missing_link", test_missing_link, 0, 4},
        {"relay_equivalence", test_relay_equivalence, 4, 120},
        {"dgd_matches_central", test_dgd_matches_central, 2, 120},
        {"deadline_and_mismatch", test_deadline_and_mismatch, 0, 4},
        {"gt_ring", test_gt_ring, 0, 120},
        {"gt_adam_matches_central_adam", test_gt_adam_matches_central_adam, 4, 120},
        {"gossip_combine", test_gossip_combine, 0, 0},
        {"gossip_rounds", test_gossip_rounds, 2, 60},
        {"agreement_rounds", test_agreement_rounds, 2, 60},
        {"ed_agent_resume", test_ed_agent_resume, 0, 60},
        {"mix_rounds", test_mix_rounds, 0, 60},
        {"links_pure", test_links_pure, 0, 0},
        {"schedule_one_peer", test_schedule_one_peer, 0, 60},
        {"link_failure_unbiased", test_link_failure_unbiased, 0, 60},
        {"halo_stale_rows", test_halo_stale_rows, 0, 60},
        {"agent_lost", test_agent_lost, 0, 60},
        {"session_start_fails_cleanly", test_session_start_fails_cleanly, 0, 0},
        {"session_names_agents_without_hello", test_session_names_agents_without_hello, 0, 90},
    };
    return DGCN_TEST_SUITE("agent", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
