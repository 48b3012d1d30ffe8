/* tests/test_consensus.c: the consensus optimizers of nn/consensus.h on a strongly convex problem
 * with a known optimum, and the Chebyshev-accelerated gossip rounds against their bound.
 *
 * The problem: L2-regularized logistic regression, N = 200 generated samples of D = 10 features
 * split among M = 8 agents (25 each), agent k's loss f_k(theta) = (1/N) sum_{i in S_k}
 * log(1 + exp(-y_i x_i^T theta)) + lambda / (2M) ||theta||^2, lambda = 0.1, so sum_k f_k is the
 * centralized loss F. Its minimizer theta* comes from Newton's method in double. The agents run
 * on the pure prepare/mix functions: this file holds all M copies and hands each agent its
 * neighbours' messages with its row of the Metropolis-Hastings matrix (topologies/weights.h) on a
 * ring and on the complete graph. One exchange per iteration, constant step, grad_scale M as the
 * agents use. */
#include "core/error.h"
#include "nn/consensus.h"
#include "tests/testutil.h"
#include "topologies/generate.h"
#include "topologies/graph.h"
#include "topologies/weights.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

enum { N = 200, D = 10, M = 8, MAX_M = 20 };
static const double s_lambda = 0.1;

/* xorshift64* and Box-Muller: a reproducible normal sample. */
static uint64_t s_rng = 0x9E3779B97F4A7C15ULL;
static double s_uniform(void) {
    s_rng ^= s_rng >> 12;
    s_rng ^= s_rng << 25;
    s_rng ^= s_rng >> 27;
    return ((double)((s_rng * 0x2545F4914F6CDD1DULL) >> 11) + 0.5) / 9007199254740992.0;
}
static double s_normal(void) {
    return sqrt(-2.0 * log(s_uniform())) * cos(2.0 * M_PI * s_uniform());
}

typedef struct problem {
    double x[N][D]; /* features */
    double y[N];    /* labels +-1 */
    double opt[D];  /* theta*, the minimizer of F */
    double l_max;   /* largest smoothness constant of the scaled local losses M f_k */
} problem;

/* grad (D) += the gradient of sum over samples [i0, i1) of (1/N) log(1 + exp(-y x^T theta)),
 * and hess (D, D, or NULL) += its Hessian. */
static void s_logistic(const problem *pr, int i0, int i1, const double *theta, double *grad,
                       double *hess) {
    for (int i = i0; i < i1; i++) {
        double z = 0.0;
        for (int j = 0; j < D; j++) z += pr->x[i][j] * theta[j];
        double sg = 1.0 / (1.0 + exp(pr->y[i] * z)); /* sigma(-y z) */
        for (int j = 0; j < D; j++) grad[j] -= pr->y[i] * sg * pr->x[i][j] / N;
        if (hess)
            for (int j = 0; j < D; j++)
                for (int l = 0; l < D; l++)
                    hess[j * D + l] += sg * (1.0 - sg) * pr->x[i][j] * pr->x[i][l] / N;
    }
}

/* Solves a x = b (D x D, Gaussian elimination with partial pivoting; a and b are overwritten). */
static void s_solve(double *a, double *b) {
    for (int c = 0; c < D; c++) {
        int piv = c;
        for (int r = c + 1; r < D; r++)
            if (fabs(a[r * D + c]) > fabs(a[piv * D + c])) piv = r;
        for (int l = 0; l < D; l++) {
            double t = a[c * D + l];
            a[c * D + l] = a[piv * D + l];
            a[piv * D + l] = t;
        }
        double t = b[c];
        b[c] = b[piv];
        b[piv] = t;
        for (int r = c + 1; r < D; r++) {
            double f = a[r * D + c] / a[c * D + c];
            for (int l = c; l < D; l++) a[r * D + l] -= f * a[c * D + l];
            b[r] -= f * b[c];
        }
    }
    for (int c = D - 1; c >= 0; c--) {
        for (int l = c + 1; l < D; l++) b[c] -= a[c * D + l] * b[l];
        b[c] /= a[c * D + c];
    }
}

/* Largest eigenvalue of the symmetric positive semidefinite (D, D) a by power iteration. */
static double s_top_eig(const double *a) {
    double v[D], w[D], lam = 0.0;
    for (int j = 0; j < D; j++) v[j] = 1.0 + 0.1 * j;
    for (int it = 0; it < 500; it++) {
        double nrm = 0.0;
        for (int j = 0; j < D; j++) {
            w[j] = 0.0;
            for (int l = 0; l < D; l++) w[j] += a[j * D + l] * v[l];
            nrm += w[j] * w[j];
        }
        nrm = sqrt(nrm);
        lam = nrm;
        for (int j = 0; j < D; j++) v[j] = w[j] / nrm;
    }
    return lam;
}

static void s_problem_make(problem *pr) {
    double w[D];
    s_rng = 0x9E3779B97F4A7C15ULL;
    for (int j = 0; j < D; j++) w[j] = s_normal();
    for (int i = 0; i < N; i++) {
        double z = 0.0;
        for (int j = 0; j < D; j++) z += (pr->x[i][j] = s_normal()) * w[j];
        pr->y[i] = z + 0.5 * s_normal() > 0.0 ? 1.0 : -1.0;
    }
    /* Newton from 0 on F = sum_k f_k */
    memset(pr->opt, 0, sizeof pr->opt);
    for (int it = 0; it < 50; it++) {
        double g[D] = {0}, h[D * D] = {0};
        s_logistic(pr, 0, N, pr->opt, g, h);
        for (int j = 0; j < D; j++) {
            g[j] += s_lambda * pr->opt[j];
            h[j * D + j] += s_lambda;
        }
        s_solve(h, g);
        for (int j = 0; j < D; j++) pr->opt[j] -= g[j];
    }
    double g[D] = {0}, gn = 0.0;
    s_logistic(pr, 0, N, pr->opt, g, NULL);
    for (int j = 0; j < D; j++) gn += pow(g[j] + s_lambda * pr->opt[j], 2);
    ck_assert_msg(sqrt(gn) < 1e-13, "Newton ended with gradient norm %g", sqrt(gn));
    /* L of M f_k: M (1/(4N)) lambda_max(X_k^T X_k) + lambda */
    pr->l_max = 0.0;
    for (int k = 0; k < M; k++) {
        double a[D * D] = {0};
        for (int i = k * (N / M); i < (k + 1) * (N / M); i++)
            for (int j = 0; j < D; j++)
                for (int l = 0; l < D; l++) a[j * D + l] += pr->x[i][j] * pr->x[i][l];
        double l = M * s_top_eig(a) / (4.0 * N) + s_lambda;
        if (l > pr->l_max) pr->l_max = l;
    }
}

/* g_k(theta): the gradient of agent k's local loss (its N/M samples, lambda / M), in double, as a
 * float vector as the agents hold it. */
static void s_local_grad(const problem *pr, int k, const float *theta, float *out) {
    double th[D], g[D] = {0};
    for (int j = 0; j < D; j++) th[j] = theta[j];
    s_logistic(pr, k * (N / M), (k + 1) * (N / M), th, g, NULL);
    for (int j = 0; j < D; j++) out[j] = (float)(g[j] + s_lambda / M * th[j]);
}

/* A communication graph with its mixing rows: row k = self weight, then one per neighbour in
 * increasing id, as the agents get them. */
typedef struct net {
    int32_t m;
    int32_t deg[MAX_M];
    int32_t nb[MAX_M][MAX_M];
    double row[MAX_M][MAX_M + 1];
    double slem;
} net;

static void s_net(net *n, int32_t m, int complete) {
    dgcn_topo g;
    double c[MAX_M * MAX_M];
    ck_assert_int_eq(complete ? dgcn_topo_gen_complete(&g, m) : dgcn_topo_gen_ring(&g, m), DGCN_OK);
    ck_assert_int_eq(dgcn_topo_weights(&g, DGCN_MIX_MH, c), DGCN_OK);
    n->m = m;
    for (int32_t k = 0; k < m; k++) {
        n->deg[k] = g.deg[k];
        n->row[k][0] = c[k * m + k];
        for (int32_t i = 0; i < g.deg[k]; i++) {
            n->nb[k][i] = g.nbr[k][i];
            n->row[k][i + 1] = c[k * m + g.nbr[k][i]];
        }
    }
    dgcn_topo_fini(&g);
    /* MH on a ring: 1/3 + 2/3 cos(2 pi j / m); on the complete graph: 11^T / m (SLEM 0) */
    n->slem = 0.0;
    for (int32_t j = 1; j < m && !complete; j++)
        n->slem = fmax(n->slem, fabs(1.0 / 3 + 2.0 / 3 * cos(2 * M_PI * j / m)));
}

typedef struct outcome {
    double err;      /* max_k ||theta_k - theta*|| / ||theta*|| at the end */
    int reached_1e4; /* first iteration after which the error is <= 1e-4, or -1 */
    int reached_1e6; /* same for 1e-6 */
} outcome;

static double s_error(const problem *pr, float theta[][D]) {
    double worst = 0.0, on = 0.0;
    for (int j = 0; j < D; j++) on += pr->opt[j] * pr->opt[j];
    for (int k = 0; k < M; k++) {
        double e = 0.0;
        for (int j = 0; j < D; j++) e += pow(theta[k][j] - pr->opt[j], 2);
        worst = fmax(worst, sqrt(e / on));
    }
    return worst;
}

/* iters iterations of kind with step alpha on net n, every copy from 0. */
static outcome s_run(const problem *pr, const net *n, dgcn_consensus_kind kind, double alpha,
                     int iters) {
    dgcn_consensus *c[M];
    float theta[M][D], grad[M][D], msg[M][2 * D];
    dgcn_consensus_config cfg = dgcn_consensus_defaults(kind, alpha);
    cfg.grad_scale = M;
    for (int k = 0; k < M; k++) ck_assert_int_eq(dgcn_consensus_new(&c[k], &cfg, D), DGCN_OK);
    memset(theta, 0, sizeof theta);
    outcome o = {1.0, -1, -1};
    for (int it = 0; it < iters; it++) {
        for (int k = 0; k < M; k++) {
            s_local_grad(pr, k, theta[k], grad[k]);
            ck_assert_int_eq(dgcn_consensus_prepare(c[k], it, theta[k], grad[k], msg[k]), DGCN_OK);
        }
        for (int k = 0; k < M; k++) {
            const float *recv[MAX_M];
            for (int32_t i = 0; i < n->deg[k]; i++) recv[i] = msg[n->nb[k][i]];
            ck_assert_int_eq(dgcn_consensus_mix(c[k], it, grad[k], n->row[k], n->deg[k], msg[k],
                                                recv, theta[k]),
                             DGCN_OK);
        }
        o.err = s_error(pr, theta);
        if (o.err <= 1e-4 && o.reached_1e4 < 0) o.reached_1e4 = it + 1;
        if (o.err <= 1e-6 && o.reached_1e6 < 0) o.reached_1e6 = it + 1;
        if (o.err > 1e-4) o.reached_1e4 = -1; /* must stay there */
        if (o.err > 1e-6) o.reached_1e6 = -1;
    }
    for (int k = 0; k < M; k++) dgcn_consensus_destroy(&c[k]);
    return o;
}

/* gt and ed reach theta* to 1e-6 with one exchange per iteration and a constant step, on the ring
 * and the complete graph, the ring taking more iterations to 1e-4; DGD with the same step stalls
 * above 1e-4 (it is inexact). gt-adam is left out: with a constant step Adam's normalized step
 * does not shrink near the optimum, so it hovers at about alpha from theta*, and a decaying step
 * makes the comparison one of schedules, not of methods. */
START_TEST(test_exact_methods_reach_optimum) {
    static problem pr;
    s_problem_make(&pr);
    net ring, full;
    s_net(&ring, M, 0);
    s_net(&full, M, 1);
    const double alpha = 1.0 / pr.l_max; /* ed: alpha < 2 / L (nn/consensus.h) */
    const int iters = 1500;
    static const dgcn_consensus_kind kinds[] = {DGCN_CONSENSUS_GT, DGCN_CONSENSUS_ED};
    double on = 0.0;
    for (int j = 0; j < D; j++) on += pr.opt[j] * pr.opt[j];
    fprintf(stderr, "logistic: ||theta*|| = %.3f, L = %.3f, alpha = %.3f, ring SLEM %.3f\n",
            sqrt(on), pr.l_max, alpha, ring.slem);
    for (int q = 0; q < 2; q++) {
        outcome r = s_run(&pr, &ring, kinds[q], alpha, iters);
        outcome f = s_run(&pr, &full, kinds[q], alpha, iters);
        const char *name = dgcn_consensus_kind_name(kinds[q]);
        fprintf(stderr,
                "%-3s ring: error %.2e, 1e-4 at %d, 1e-6 at %d; complete: error %.2e, 1e-4 at "
                "%d, 1e-6 at %d\n",
                name, r.err, r.reached_1e4, r.reached_1e6, f.err, f.reached_1e4, f.reached_1e6);
        ck_assert_msg(r.err <= 1e-6 && f.err <= 1e-6, "%s: relative error %g (ring), %g (complete)",
                      name, r.err, f.err);
        ck_assert_msg(r.reached_1e4 > f.reached_1e4,
                      "%s: the ring reached 1e-4 after %d iterations, the complete graph after %d",
                      name, r.reached_1e4, f.reached_1e4);
    }
    for (int complete = 0; complete < 2; complete++) {
        outcome d = s_run(&pr, complete ? &full : &ring, DGCN_CONSENSUS_DGD, alpha, iters);
        fprintf(stderr, "dgd %s: error %.2e\n", complete ? "complete" : "ring", d.err);
        ck_assert_msg(d.err > 1e-4, "dgd with a constant step reached %g", d.err);
    }
}
END_TEST

/* ED against hand values: theta = (1, 2), g = (0.5, -1), alpha 0.1, scale 2, row (0.5, 0.25,
 * 0.25), neighbours' phi (3, 4), (5, 6); then g = (1, 0). */
START_TEST(test_ed_values) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_ED, 0.1);
    cfg.grad_scale = 2.0;
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, 2), DGCN_OK);
    ck_assert_int_eq(dgcn_consensus_msg_len(c), 2);
    ck_assert_int_eq(dgcn_consensus_state_len(c), 2);
    ck_assert_ptr_null(dgcn_consensus_tracker(c));
    float theta[2] = {1, 2}, g[2] = {0.5f, -1}, msg[2];
    float r0[2] = {3, 4}, r1[2] = {5, 6};
    const float *recv[2] = {r0, r1};
    double row[3] = {0.5, 0.25, 0.25};
    /* psi(1) = theta - 0.2 g = (0.9, 2.2) = phi(1) */
    ck_assert_int_eq(dgcn_consensus_prepare(c, 0, theta, g, msg), DGCN_OK);
    ck_assert_float_eq_tol(msg[0], 0.9f, 1e-6f);
    ck_assert_float_eq_tol(msg[1], 2.2f, 1e-6f);
    /* theta = (phi + C phi) / 2: (0.9 + 2.45) / 2, (2.2 + 3.6) / 2 */
    ck_assert_int_eq(dgcn_consensus_mix(c, 0, g, row, 2, msg, recv, theta), DGCN_OK);
    ck_assert_float_eq_tol(theta[0], 1.675f, 1e-6f);
    ck_assert_float_eq_tol(theta[1], 2.9f, 1e-6f);
    /* psi(2) = (1.475, 2.9); phi(2) = psi(2) + theta - psi(1) = (2.25, 3.6) */
    float g1[2] = {1, 0};
    ck_assert_int_eq(dgcn_consensus_prepare(c, 1, theta, g1, msg), DGCN_OK);
    ck_assert_float_eq_tol(msg[0], 2.25f, 1e-6f);
    ck_assert_float_eq_tol(msg[1], 3.6f, 1e-6f);
    dgcn_consensus_kind k;
    ck_assert_int_eq(dgcn_consensus_kind_parse("ed", &k), DGCN_OK);
    ck_assert_int_eq(k, DGCN_CONSENSUS_ED);
    ck_assert_int_eq(k, 4);
    ck_assert_str_eq(dgcn_consensus_kind_name(DGCN_CONSENSUS_ED), "ed");
    dgcn_consensus_destroy(&c);
}
END_TEST

/* The Chebyshev weights, contraction and round rule against hand values; config checks. */
START_TEST(test_chebyshev_rule) {
    /* w_1 = 1, w_2 = 2 / (2 - rho^2), w_3 = 1 / (1 - rho^2 w_2 / 4) */
    ck_assert_double_eq(dgcn_gossip_weight(0.5, 0), 1.0);
    ck_assert_double_eq_tol(dgcn_gossip_weight(0.5, 1), 2.0 / 1.75, 1e-15);
    ck_assert_double_eq_tol(dgcn_gossip_weight(0.5, 2), 1.0 / (1.0 - 0.25 * (2.0 / 1.75) / 4),
                            1e-15);
    for (int32_t r = 0; r < 10; r++) ck_assert_double_eq(dgcn_gossip_weight(0.0, r), 1.0);
    /* T_3(2) = 26, T_4(2) = 97 */
    ck_assert_double_eq_tol(dgcn_gossip_contraction(0.5, 3, DGCN_GOSSIP_CHEBYSHEV), 1.0 / 26,
                            1e-14);
    ck_assert_double_eq_tol(dgcn_gossip_contraction(0.5, 4, DGCN_GOSSIP_CHEBYSHEV), 1.0 / 97,
                            1e-14);
    ck_assert_double_eq_tol(dgcn_gossip_contraction(0.5, 4, DGCN_GOSSIP_PLAIN), 1.0 / 16, 1e-15);
    ck_assert_double_eq(dgcn_gossip_contraction(0.0, 2, DGCN_GOSSIP_CHEBYSHEV), 0.0);
    /* target 0.02: plain ceil(ln 0.02 / ln 0.5) = 6; chebyshev 1/26 > 0.02 >= 1/97: 4 */
    ck_assert_int_eq(dgcn_gossip_rounds_for(0.5, 0.02, DGCN_GOSSIP_PLAIN), 6);
    ck_assert_int_eq(dgcn_gossip_rounds_for(0.5, 0.02, DGCN_GOSSIP_CHEBYSHEV), 4);
    /* rho 0.9: plain ceil(37.13) = 38; chebyshev: T_9(1/0.9) < 50 <= T_10(1/0.9) */
    ck_assert_int_eq(dgcn_gossip_rounds_for(0.9, 0.02, DGCN_GOSSIP_PLAIN), 38);
    double t0 = 1.0, t1 = 1.0 / 0.9, s = 1.0 / 0.9;
    for (int r = 2; r <= 10; r++) {
        double t2 = 2 * s * t1 - t0;
        t0 = t1;
        t1 = t2;
    }
    ck_assert(t0 < 50.0 && t1 >= 50.0); /* t0 = T_9, t1 = T_10 */
    ck_assert_int_eq(dgcn_gossip_rounds_for(0.9, 0.02, DGCN_GOSSIP_CHEBYSHEV), 10);
    ck_assert_int_eq(dgcn_gossip_rounds_for(0.0, 0.02, DGCN_GOSSIP_CHEBYSHEV), 1);
    ck_assert_int_eq(dgcn_gossip_rounds_for(1.0, 0.02, DGCN_GOSSIP_CHEBYSHEV), DGCN_GOSSIP_MAX);
    ck_assert_int_eq(dgcn_gossip_rounds_for(NAN, 0.02, DGCN_GOSSIP_PLAIN), DGCN_GOSSIP_MAX);
    ck_assert_int_eq(dgcn_gossip_rounds_for(1 - 1e-9, 0.02, DGCN_GOSSIP_CHEBYSHEV),
                     DGCN_GOSSIP_MAX);

    /* the choice of a run: Chebyshev only on a SLEM that bounds the spectrum */
    int32_t rounds;
    double rho;
    dgcn_gossip_accel a;
    ck_assert_int_eq(dgcn_gossip_choose(DGCN_GOSSIP_CHEBYSHEV, 0.9, 1, 0.02, 0, &rounds, &a, &rho),
                     0);
    ck_assert(rounds == 10 && a == DGCN_GOSSIP_CHEBYSHEV && rho == 0.9);
    /* a Lanczos lower bound: plain gossip and today's rule */
    ck_assert_int_eq(dgcn_gossip_choose(DGCN_GOSSIP_CHEBYSHEV, 0.9, 0, 0.02, 0, &rounds, &a, &rho),
                     1);
    ck_assert(rounds == 38 && a == DGCN_GOSSIP_PLAIN && rho == 0.0);
    ck_assert_int_eq(dgcn_gossip_choose(DGCN_GOSSIP_CHEBYSHEV, 1.0, 1, 0.02, 5, &rounds, &a, &rho),
                     1);
    ck_assert(rounds == 5 && a == DGCN_GOSSIP_PLAIN);
    ck_assert_int_eq(dgcn_gossip_choose(DGCN_GOSSIP_PLAIN, 0.5, 1, 0.02, 0, &rounds, &a, &rho), 0);
    ck_assert(rounds == 6 && a == DGCN_GOSSIP_PLAIN && rho == 0.0);
    ck_assert_int_eq(dgcn_gossip_choose(DGCN_GOSSIP_CHEBYSHEV, 0.0, 1, 0.02, 0, &rounds, &a, &rho),
                     0);
    ck_assert(rounds == 1 && a == DGCN_GOSSIP_CHEBYSHEV && rho == 0.0);

    ck_assert_int_eq(dgcn_gossip_accel_parse("chebyshev", &a), DGCN_OK);
    ck_assert_int_eq(a, DGCN_GOSSIP_CHEBYSHEV);
    ck_assert_int_eq(dgcn_gossip_accel_parse("none", &a), DGCN_OK);
    ck_assert_int_eq(a, DGCN_GOSSIP_PLAIN);
    ck_assert_int_eq(dgcn_gossip_accel_parse("fast", &a), DGCN_EINVAL);
    ck_assert_str_eq(dgcn_gossip_accel_name(DGCN_GOSSIP_CHEBYSHEV), "chebyshev");

    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_GT, 0.1);
    ck_assert_int_eq(cfg.gossip_accel, DGCN_GOSSIP_PLAIN);
    cfg.gossip_accel = DGCN_GOSSIP_CHEBYSHEV;
    cfg.gossip_rounds = 3;
    static const double bad[] = {1.0, 1.5, -0.1, NAN, INFINITY};
    for (int i = 0; i < 5; i++) {
        cfg.gossip_rho = bad[i];
        ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_EINVAL);
        ck_assert_ptr_nonnull(strstr(dgcn_error_msg(), "rho"));
    }
    cfg.gossip_rho = 0.0;
    ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_OK);
    cfg.gossip_accel = 2;
    ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_EINVAL);
    cfg.gossip_accel = DGCN_GOSSIP_PLAIN;
    cfg.gossip_rho = NAN; /* unused without acceleration */
    ck_assert_int_eq(dgcn_consensus_config_check(&cfg), DGCN_OK);
}
END_TEST

/* R gossip rounds of x (m agents, msg_len p each, row-major) through dgcn_consensus_combine on
 * net n; x is replaced by x_R. */
static void s_gossip(const net *n, dgcn_gossip_accel accel, double rho, int32_t rounds, int64_t p,
                     double *x) {
    dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_DGD_ATC, 0.1);
    cfg.gossip_rounds = rounds;
    cfg.gossip_accel = accel;
    cfg.gossip_rho = rho;
    dgcn_consensus *c = NULL;
    ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, p), DGCN_OK);
    const int32_t m = n->m;
    float *buf = malloc((size_t)(3 * m * p) * sizeof *buf);
    float *prev = buf, *cur = buf + m * p, *next = buf + 2 * m * p;
    for (int64_t i = 0; i < m * p; i++) cur[i] = (float)x[i];
    for (int32_t r = 0; r < rounds; r++) {
        for (int32_t k = 0; k < m; k++) {
            const float *recv[MAX_M];
            for (int32_t i = 0; i < n->deg[k]; i++) recv[i] = cur + n->nb[k][i] * p;
            ck_assert_int_eq(dgcn_consensus_combine(c, r, n->row[k], n->deg[k], cur + k * p,
                                                    r ? prev + k * p : NULL, recv, next + k * p),
                             DGCN_OK);
        }
        float *t = prev;
        prev = cur;
        cur = next;
        next = t;
    }
    for (int64_t i = 0; i < m * p; i++) x[i] = cur[i];
    free(buf);
    dgcn_consensus_destroy(&c);
}

/* ||x - 1 mean^T||_F and the per-column means (p). */
static double s_disagreement(int32_t m, int64_t p, const double *x, double *mean) {
    double d = 0.0;
    for (int64_t i = 0; i < p; i++) {
        mean[i] = 0.0;
        for (int32_t k = 0; k < m; k++) mean[i] += x[k * p + i] / m;
        for (int32_t k = 0; k < m; k++) d += pow(x[k * p + i] - mean[i], 2);
    }
    return sqrt(d);
}

/* Ring of 20, Metropolis-Hastings weights: R Chebyshev rounds shrink the disagreement of a
 * random vector by at most 1 / T_R(1 / rho) and keep its average; on the slowest mode R = 6
 * rounds contract by 1 / T_6(1 / rho), about half of rho^6, where plain rounds give rho^6. On the
 * complete graph with uniform weights (rho = 0) the first round is the average. */
START_TEST(test_chebyshev_gossip) {
    enum { MR = 20, P = 7 };
    net ring;
    s_net(&ring, MR, 0);
    const double rho = ring.slem;
    ck_assert_double_eq_tol(rho, 1.0 / 3 + 2.0 / 3 * cos(2 * M_PI / MR), 1e-15);
    double x0[MR * P], x[MR * P], mean0[P], mean[P];
    s_rng = 12345;
    for (int i = 0; i < MR * P; i++) x0[i] = s_normal() + 0.5;
    double d0 = s_disagreement(MR, P, x0, mean0);
    for (int32_t rounds = 1; rounds <= 12; rounds++) {
        memcpy(x, x0, sizeof x);
        s_gossip(&ring, DGCN_GOSSIP_CHEBYSHEV, rho, rounds, P, x);
        double ratio = s_disagreement(MR, P, x, mean) / d0;
        double bound = dgcn_gossip_contraction(rho, rounds, DGCN_GOSSIP_CHEBYSHEV);
        ck_assert_msg(ratio <= bound + 1e-5, "R = %d: contraction %g above 1 / T_R = %g", rounds,
                      ratio, bound);
        for (int i = 0; i < P; i++)
            ck_assert_msg(fabs(mean[i] - mean0[i]) <= 1e-6, "R = %d: average moved by %g", rounds,
                          fabs(mean[i] - mean0[i]));
    }
    /* the slowest mode, cos(2 pi k / 20), has eigenvalue rho */
    double slow[MR * P];
    for (int32_t k = 0; k < MR; k++)
        for (int i = 0; i < P; i++) slow[k * P + i] = 1.0 + (i + 1) * cos(2 * M_PI * k / MR);
    double ds = s_disagreement(MR, P, slow, mean0);
    memcpy(x, slow, sizeof x);
    s_gossip(&ring, DGCN_GOSSIP_CHEBYSHEV, rho, 6, P, x);
    double accel = s_disagreement(MR, P, x, mean) / ds;
    memcpy(x, slow, sizeof x);
    s_gossip(&ring, DGCN_GOSSIP_PLAIN, rho, 6, P, x);
    double plain = s_disagreement(MR, P, x, mean) / ds;
    fprintf(stderr,
            "ring of 20, rho %.4f, R = 6: chebyshev %.4f (1/T_6 %.4f), plain %.4f "
            "(rho^6 %.4f)\n",
            rho, accel, dgcn_gossip_contraction(rho, 6, DGCN_GOSSIP_CHEBYSHEV), plain, pow(rho, 6));
    ck_assert_double_eq_tol(plain, pow(rho, 6), 1e-5);
    ck_assert_msg(accel <= 0.6 * pow(rho, 6), "chebyshev R = 6 contracts by %g, rho^6 = %g", accel,
                  pow(rho, 6));
    ck_assert_double_eq_tol(accel, dgcn_gossip_contraction(rho, 6, DGCN_GOSSIP_CHEBYSHEV), 1e-5);

    net full;
    s_net(&full, 5, 1);
    for (int32_t rounds = 1; rounds <= 3; rounds++) {
        memcpy(x, x0, 5 * P * sizeof *x);
        s_gossip(&full, DGCN_GOSSIP_CHEBYSHEV, 0.0, rounds, P, x);
        double d = s_disagreement(5, P, x, mean);
        ck_assert_msg(d <= 1e-6, "complete graph, R = %d: disagreement %g", rounds, d);
    }
}
END_TEST

/* Gossip rounds compose with ED: R = 3 Chebyshev rounds (Cbar_3 = (I + p_3(C)) / 2) reach theta*
 * on the ring in fewer iterations than one round, still to 1e-6. */
START_TEST(test_ed_with_gossip_rounds) {
    static problem pr;
    s_problem_make(&pr);
    net ring;
    s_net(&ring, M, 0);
    const double alpha = 1.0 / pr.l_max;
    int reached[2];
    double err[2];
    for (int q = 0; q < 2; q++) {
        const int32_t rounds = q ? 3 : 1;
        dgcn_consensus_config cfg = dgcn_consensus_defaults(DGCN_CONSENSUS_ED, alpha);
        cfg.grad_scale = M;
        cfg.gossip_rounds = rounds;
        cfg.gossip_accel = DGCN_GOSSIP_CHEBYSHEV;
        cfg.gossip_rho = ring.slem;
        dgcn_consensus *c[M];
        float theta[M][D], grad[M][D], buf[3][M][D];
        for (int k = 0; k < M; k++) ck_assert_int_eq(dgcn_consensus_new(&c[k], &cfg, D), DGCN_OK);
        memset(theta, 0, sizeof theta);
        reached[q] = -1;
        for (int it = 0; it < 1500; it++) {
            int cur = 0, prev = -1;
            for (int k = 0; k < M; k++) {
                s_local_grad(&pr, k, theta[k], grad[k]);
                ck_assert_int_eq(dgcn_consensus_prepare(c[k], it, theta[k], grad[k], buf[0][k]),
                                 DGCN_OK);
            }
            for (int32_t r = 0; r < rounds; r++) {
                const int next = (cur + 1) % 3;
                for (int k = 0; k < M; k++) {
                    const float *recv[MAX_M];
                    for (int32_t i = 0; i < ring.deg[k]; i++) recv[i] = buf[cur][ring.nb[k][i]];
                    const float *pv = prev >= 0 ? buf[prev][k] : NULL;
                    if (r + 1 < rounds)
                        ck_assert_int_eq(dgcn_consensus_combine(c[k], r, ring.row[k], ring.deg[k],
                                                                buf[cur][k], pv, recv,
                                                                buf[next][k]),
                                         DGCN_OK);
                    else
                        ck_assert_int_eq(dgcn_consensus_mix_round(c[k], it, r, grad[k], ring.row[k],
                                                                  ring.deg[k], buf[cur][k], pv,
                                                                  recv, theta[k]),
                                         DGCN_OK);
                }
                prev = cur;
                cur = next;
            }
            err[q] = s_error(&pr, theta);
            if (err[q] <= 1e-4 && reached[q] < 0) reached[q] = it + 1;
            if (err[q] > 1e-4) reached[q] = -1;
        }
        for (int k = 0; k < M; k++) dgcn_consensus_destroy(&c[k]);
    }
    fprintf(stderr,
            "ed on the ring: R = 1: 1e-4 at %d (error %.2e); R = 3 chebyshev: at %d "
            "(error %.2e)\n",
            reached[0], err[0], reached[1], err[1]);
    ck_assert_msg(err[1] <= 1e-6, "ed with 3 rounds: relative error %g", err[1]);
    ck_assert_msg(reached[1] > 0 && reached[1] < reached[0],
                  "ed reached 1e-4 after %d iterations with 3 rounds, %d with 1", reached[1],
                  reached[0]);
}
END_TEST

/* ---- the fused mixing against the plain computation, bit for bit ---- */

/* The optimizer of nn/consensus.h written plainly, as its comment states it: one neighbour per
 * pass, every sum in double, self first, a neighbour of weight 0 skipped, the tracker, the message
 * and Adam's update each in a pass of their own. nn/consensus.c fuses these passes (four
 * neighbours per pass over a block, the tracker and the message written together); this is what
 * it must equal bit for bit. */
typedef struct s_plain {
    dgcn_consensus_config cfg;
    int64_t p;
    float *y, *ymix, *g_old, *m, *v, *psi, *phi;
    int started;
    int64_t rounds;
} s_plain;

static int s_plain_tracking(const s_plain *q) {
    return q->cfg.kind == DGCN_CONSENSUS_GT || q->cfg.kind == DGCN_CONSENSUS_GT_ADAM;
}

static void s_plain_prepare(s_plain *q, int64_t n, const float *theta, const float *grad,
                            float *msg) {
    const int64_t p = q->p;
    const double alpha = dgcn_step_at(&q->cfg.step, n), s = q->cfg.grad_scale;
    switch (q->cfg.kind) {
    case DGCN_CONSENSUS_DGD: memcpy(msg, theta, (size_t)p * sizeof *msg); return;
    case DGCN_CONSENSUS_DGD_ATC:
        for (int64_t i = 0; i < p; i++) msg[i] = (float)((double)theta[i] - alpha * s * grad[i]);
        return;
    case DGCN_CONSENSUS_ED:
        for (int64_t i = 0; i < p; i++) {
            double psi = (double)theta[i] - alpha * s * grad[i];
            double phi = q->started ? psi + (double)theta[i] - (double)q->psi[i] : psi;
            q->psi[i] = (float)psi;
            msg[i] = q->phi[i] = (float)phi;
        }
        q->started = 1;
        return;
    default: break;
    }
    for (int64_t i = 0; i < p; i++) {
        float gt = (float)(s * grad[i]);
        q->y[i] = q->started ? (float)((double)q->ymix[i] + gt - q->g_old[i]) : gt;
        q->g_old[i] = gt;
    }
    q->started = 1;
    for (int64_t i = 0; i < p; i++)
        msg[i] = q->cfg.kind == DGCN_CONSENSUS_GT ? (float)((double)theta[i] - alpha * q->y[i])
                                                  : theta[i];
    memcpy(msg + p, q->y, (size_t)p * sizeof *msg);
}

/* out[k] = w (row[0] own[at + k] + sum_j row[j + 1] recv[j][at + k]) + (1 - w) prev[at + k]. */
static void s_plain_sum(const double *row, int32_t n_nb, const float *own, const float *prev,
                        const float *const *recv, int64_t at, int64_t len, double w, double *out) {
    for (int64_t k = 0; k < len; k++) out[k] = row[0] * own[at + k];
    for (int32_t j = 0; j < n_nb; j++) {
        if (row[j + 1] == 0.0) continue;
        for (int64_t k = 0; k < len; k++) out[k] += row[j + 1] * recv[j][at + k];
    }
    if (w != 1.0)
        for (int64_t k = 0; k < len; k++) out[k] = w * out[k] + (1.0 - w) * prev[at + k];
}

static void s_plain_mix(s_plain *q, int64_t n, double w, const float *grad, const double *row,
                        int32_t n_nb, const float *own, const float *prev, const float *const *recv,
                        float *theta, double *acc, double *acc_y) {
    const int64_t p = q->p;
    const double alpha = dgcn_step_at(&q->cfg.step, n), s = q->cfg.grad_scale;
    s_plain_sum(row, n_nb, own, prev, recv, 0, p, w, acc);
    if (s_plain_tracking(q)) {
        s_plain_sum(row, n_nb, own, prev, recv, p, p, w, acc_y);
        for (int64_t k = 0; k < p; k++) q->ymix[k] = (float)acc_y[k];
    }
    switch (q->cfg.kind) {
    case DGCN_CONSENSUS_DGD:
        for (int64_t k = 0; k < p; k++) theta[k] = (float)(acc[k] - alpha * s * grad[k]);
        break;
    case DGCN_CONSENSUS_ED:
        for (int64_t k = 0; k < p; k++) theta[k] = (float)(0.5 * ((double)q->phi[k] + acc[k]));
        break;
    case DGCN_CONSENSUS_GT_ADAM: {
        const double b1 = q->cfg.beta1, b2 = q->cfg.beta2, eps = q->cfg.eps;
        q->rounds++;
        const double bc1 = 1.0 - pow(b1, (double)q->rounds), bc2 = 1.0 - pow(b2, (double)q->rounds);
        for (int64_t k = 0; k < p; k++) {
            double yi = q->ymix[k];
            double mi = b1 * q->m[k] + (1.0 - b1) * yi;
            double vi = b2 * q->v[k] + (1.0 - b2) * yi * yi;
            q->m[k] = (float)mi;
            q->v[k] = (float)vi;
            theta[k] = (float)(acc[k] - alpha * (mi / bc1) / (sqrt(vi / bc2) + eps));
        }
        break;
    }
    default:
        for (int64_t k = 0; k < p; k++) theta[k] = (float)acc[k];
        break;
    }
}

/* A random float: mostly normal, sometimes -0, +0 or a value far larger or smaller. */
static float s_bits_value(void) {
    double u = s_uniform();
    if (u < 0.02) return -0.0f;
    if (u < 0.04) return 0.0f;
    if (u < 0.06) return (float)(s_normal() * 1e6);
    if (u < 0.08) return (float)(s_normal() * 1e-6);
    return (float)s_normal();
}

/* dgcn_consensus_prepare, _combine and _mix_round against s_plain_* on P = 1100 (two full blocks
 * of the fused loop and a partial one) for every kind, plain and Chebyshev gossip of 1 to 3
 * rounds, 0 to 13 neighbours (passes of one to four), neighbours of weight 0 whose
 * messages are NaN and infinity, values of -0, 0 and far apart magnitudes, and rounds of equal
 * weights whose messages hold +1e18 and -1e18, so that any other order of the sum loses or keeps
 * other terms (reassociating a pass of the fused sum fails this test): the parameters, the
 * messages, the tracker and the saved state equal bit for bit after every round. */
START_TEST(test_fused_mix_bits) {
    enum { P = 1100, NB_MAX = 13, ITERS = 12 };
    static const int32_t nbs[ITERS] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13};
    const int64_t lmax = 2 * P;
    float *theta_a = calloc(P, sizeof(float)), *theta_b = calloc(P, sizeof(float));
    float *grad = calloc(P, sizeof(float));
    float *msg_a[3], *msg_b[3], *nb[NB_MAX];
    for (int i = 0; i < 3; i++) {
        msg_a[i] = calloc((size_t)lmax, sizeof(float));
        msg_b[i] = calloc((size_t)lmax, sizeof(float));
    }
    for (int i = 0; i < NB_MAX; i++) nb[i] = calloc((size_t)lmax, sizeof(float));
    double *acc = calloc(2 * P, sizeof(double)), *acc_y = calloc(P, sizeof(double));
    float *sa = calloc(5 * P, sizeof(float)), *sb = calloc(5 * P, sizeof(float));
    s_plain q;
    memset(&q, 0, sizeof q);
    q.p = P;
    float **vecs[7] = {&q.y, &q.ymix, &q.g_old, &q.m, &q.v, &q.psi, &q.phi};
    for (int i = 0; i < 7; i++) *vecs[i] = calloc(P, sizeof(float));
    int checked = 0;
    for (int kind = 0; kind < 5; kind++)
        for (int accel = 0; accel < 2; accel++)
            for (int32_t rounds = 1; rounds <= 3; rounds++) {
                dgcn_consensus_config cfg = dgcn_consensus_defaults((dgcn_consensus_kind)kind,
                                                                    0.05);
                cfg.grad_scale = 7.0;
                cfg.step.decay = 3.0;
                cfg.step.power = 1.0;
                cfg.gossip_rounds = rounds;
                cfg.gossip_accel = accel ? DGCN_GOSSIP_CHEBYSHEV : DGCN_GOSSIP_PLAIN;
                cfg.gossip_rho = accel ? 0.6 : 0.0;
                dgcn_consensus *c = NULL;
                ck_assert_int_eq(dgcn_consensus_new(&c, &cfg, P), DGCN_OK);
                q.cfg = cfg;
                q.started = 0;
                q.rounds = 0;
                for (int i = 0; i < 7; i++) memset(*vecs[i], 0, P * sizeof(float));
                for (int64_t k = 0; k < P; k++) theta_a[k] = theta_b[k] = s_bits_value();
                const int64_t len = dgcn_consensus_msg_len(c);
                for (int64_t n = 0; n < ITERS; n++) {
                    const int32_t n_nb = nbs[(n + kind + rounds) % ITERS];
                    double row[NB_MAX + 1];
                    double sum = 0.0;
                    /* rounds n = 1 mod 3: equal weights (as Metropolis gives on a regular
                     * graph), so products of +H and -H cancel exactly and the order of the sum
                     * decides which small terms survive; n = 2 mod 3: every third neighbour has
                     * weight 0 */
                    const int equal = n % 3 == 1;
                    for (int32_t j = 0; j <= n_nb; j++) {
                        row[j] = equal                                     ? 1.0
                                 : j > 0 && n % 3 == 2 && (j + n) % 3 == 0 ? 0.0
                                                                           : 0.1 + s_uniform();
                        sum += row[j];
                    }
                    for (int32_t j = 0; j <= n_nb; j++) row[j] /= sum;
                    for (int64_t k = 0; k < P; k++) grad[k] = s_bits_value();
                    for (int64_t k = 5; k < P; k += 97) /* -0 parameters: kept as -0 */
                        theta_a[k] = theta_b[k] = -0.0f;
                    float *own_a = msg_a[0], *own_b = msg_b[0], *prev_a = NULL, *prev_b = NULL;
                    ck_assert_int_eq(dgcn_consensus_prepare(c, n, theta_a, grad, own_a), DGCN_OK);
                    s_plain_prepare(&q, n, theta_b, grad, own_b);
                    for (int32_t r = 0; r < rounds; r++) {
                        const float *recv[NB_MAX];
                        for (int32_t j = 0; j < n_nb; j++) {
                            for (int64_t k = 0; k < len; k++) {
                                double u = s_uniform();
                                nb[j][k] = row[j + 1] == 0.0
                                               ? (k % 2 ? NAN : (k % 3 ? INFINITY : -INFINITY))
                                           : equal && u < 0.3 ? 1e18f
                                           : equal && u < 0.6 ? -1e18f
                                                              : s_bits_value();
                            }
                            recv[j] = nb[j];
                        }
                        const double w = accel ? dgcn_gossip_weight(0.6, r) : 1.0;
                        if (r + 1 < rounds) {
                            float *next_a = msg_a[(r + 1) % 3], *next_b = msg_b[(r + 1) % 3];
                            ck_assert_int_eq(dgcn_consensus_combine(c, r, row, n_nb, own_a, prev_a,
                                                                    recv, next_a),
                                             DGCN_OK);
                            s_plain_sum(row, n_nb, own_b, prev_b, recv, 0, len, w, acc);
                            for (int64_t k = 0; k < len; k++) next_b[k] = (float)acc[k];
                            ck_assert_msg(memcmp(next_a, next_b, (size_t)len * sizeof(float)) == 0,
                                          "%s R=%d accel=%d n=%lld round %d: combine differs",
                                          dgcn_consensus_kind_name((dgcn_consensus_kind)kind),
                                          (int)rounds, accel, (long long)n, (int)r);
                            prev_a = own_a, prev_b = own_b;
                            own_a = next_a, own_b = next_b;
                            continue;
                        }
                        ck_assert_int_eq(dgcn_consensus_mix_round(c, n, r, grad, row, n_nb, own_a,
                                                                  prev_a, recv, theta_a),
                                         DGCN_OK);
                        s_plain_mix(&q, n, w, grad, row, n_nb, own_b, prev_b, recv, theta_b, acc,
                                    acc_y);
                    }
                    ck_assert_msg(memcmp(msg_a[0], msg_b[0], (size_t)len * sizeof(float)) == 0,
                                  "%s R=%d accel=%d n=%lld: message differs",
                                  dgcn_consensus_kind_name((dgcn_consensus_kind)kind), (int)rounds,
                                  accel, (long long)n);
                    ck_assert_msg(memcmp(theta_a, theta_b, P * sizeof(float)) == 0,
                                  "%s R=%d accel=%d n=%lld n_nb=%d: theta differs",
                                  dgcn_consensus_kind_name((dgcn_consensus_kind)kind), (int)rounds,
                                  accel, (long long)n, (int)n_nb);
                    int64_t counters[2];
                    dgcn_consensus_state_save(c, sa, counters);
                    int64_t sl = 0;
                    if (s_plain_tracking(&q)) {
                        memcpy(sb + sl, q.y, P * sizeof(float)), sl += P;
                        memcpy(sb + sl, q.ymix, P * sizeof(float)), sl += P;
                        memcpy(sb + sl, q.g_old, P * sizeof(float)), sl += P;
                    }
                    if (kind == DGCN_CONSENSUS_GT_ADAM) {
                        memcpy(sb + sl, q.m, P * sizeof(float)), sl += P;
                        memcpy(sb + sl, q.v, P * sizeof(float)), sl += P;
                    }
                    if (kind == DGCN_CONSENSUS_ED)
                        memcpy(sb + sl, q.psi, P * sizeof(float)), sl += P;
                    ck_assert_int_eq(dgcn_consensus_state_len(c), sl);
                    ck_assert_msg(memcmp(sa, sb, (size_t)sl * sizeof(float)) == 0,
                                  "%s R=%d accel=%d n=%lld: state differs",
                                  dgcn_consensus_kind_name((dgcn_consensus_kind)kind), (int)rounds,
                                  accel, (long long)n);
                    ck_assert_int_eq(counters[1], q.rounds);
                    checked++;
                }
                dgcn_consensus_destroy(&c);
            }
    ck_assert_int_eq(checked, 5 * 2 * 3 * ITERS);
    for (int i = 0; i < 7; i++) free(*vecs[i]);
    for (int i = 0; i < 3; i++) free(msg_a[i]), free(msg_b[i]);
    for (int i = 0; i < NB_MAX; i++) free(nb[i]);
    free(theta_a), free(theta_b), free(grad), free(acc), free(acc_y), free(sa), free(sb);
}
END_TEST

static Suite *s_suite(void) {
    const dgcn_test_case cases[] = {
        {"ed_values", test_ed_values, 0, 0},
        {"chebyshev_rule", test_chebyshev_rule, 0, 0},
        {"chebyshev_gossip", test_chebyshev_gossip, 0, 0},
        {"exact_methods_reach_optimum", test_exact_methods_reach_optimum, 0, 120},
        {"ed_with_gossip_rounds", test_ed_with_gossip_rounds, 0, 120},
        {"fused_mix_bits", test_fused_mix_bits, 0, 60},
    };
    return DGCN_TEST_SUITE("consensus", cases);
}

int main(void) { return dgcn_test_run(s_suite()); }
