/* topologies/design.c: ADMM for the topology design and the fastest-mixing matrix (see design.h). */
#include "topologies/design.h"

#include "topologies/local.h"
#include "topologies/spectral.h"

#include "core/error.h"
#include "core/signal.h"
#include "core/timer.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* What the X2 prox does with an entry. */
enum {
    S_OFF = 0, /* fixed at 0 (off the allowed support) */
    S_DIAG,    /* >= 0, no penalty */
    S_NONNEG,  /* link, >= 0, no penalty */
    S_REQ,     /* required link, >= eps, no penalty */
    S_FREE     /* non-required pair: gamma |c|, >= 0 */
};

#define S_ALPHA 1.0 /* ADMM relaxation (1 = none; 1.6 was slower on sparse supports) */

typedef struct s_admm_stats {
    int iterations, converged;
    double r_primal, r_dual;
} s_admm_stats;

void dgcn_design_defaults(dgcn_design_opts *o) {
    o->gamma = 0.1;
    o->eps = 1e-3;
    o->threshold = 1e-4;
    o->rho = 1.0;
    o->tol_abs = 1e-6;
    o->tol_rel = 1e-5;
    o->max_iter = 20000;
}

static double s_frob2(const double *a, int64_t n) {
    double s = 0;
    for (int64_t i = 0; i < n; i++) s += a[i] * a[i];
    return s;
}

/* Projection onto {C = C^T, C 1 = 1}: symmetrize p, then subtract a 1^T + 1 a^T with
 * a = (r - s 1) / m, r = rows sums - 1, s = sum(r) / (2m). O(m^2). */
static void s_project_affine(int32_t m, const double *p /* (m, m) */, double *c /* (m, m) */,
                             double *a /* (m) scratch */) {
    double s = 0;
    for (int32_t k = 0; k < m; k++) {
        double r = -1.0;
        for (int32_t t = 0; t < m; t++) r += 0.5 * (p[(int64_t)k * m + t] + p[(int64_t)t * m + k]);
        a[k] = r;
        s += r;
    }
    s /= 2.0 * m;
    for (int32_t k = 0; k < m; k++) a[k] = (a[k] - s) / m;
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = 0; t < m; t++)
            c[(int64_t)k * m + t] = 0.5 * (p[(int64_t)k * m + t] + p[(int64_t)t * m + k]) - a[k] -
                                    a[t];
}

static int s_cmp_desc(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a < b) - (a > b);
}

/* Clip level theta so that sum max(|lam| - theta, 0) = t (the l1-ball projection's threshold);
 * 0 when sum |lam| <= t. a is m scratch doubles. */
static double s_clip_level(int32_t m, const double *lam, double t, double *a) {
    double sum = 0;
    for (int32_t i = 0; i < m; i++) sum += (a[i] = fabs(lam[i]));
    if (sum <= t) return 0.0;
    qsort(a, (size_t)m, sizeof *a, s_cmp_desc);
    double cum = 0, theta = 0;
    for (int32_t j = 0; j < m; j++) {
        cum += a[j];
        double th = (cum - t) / (j + 1);
        if (a[j] > th) theta = th;
    }
    return theta > 0 ? theta : 0.0;
}

/* The ADMM of design.h on the entry kinds kind (m x m). x2 (m x m) receives the last X2. */
static int s_admm(int32_t m, const uint8_t *kind, double gamma, double eps,
                  const dgcn_design_opts *o, double *x2, s_admm_stats *st) {
    int rc = DGCN_OK;
    int64_t mm = (int64_t)m * m;
    double *buf = NULL, *work = NULL;
    lapack_int *iwork = NULL;
    DGCN_ALLOC(buf, 8 * mm + 3 * (int64_t)m);
    double *c = buf, *x1 = c + mm, *u1 = x1 + mm, *u2 = u1 + mm, *cprev = u2 + mm, *q = cprev + mm,
           *b = q + mm, *p = b + mm, *lam = p + mm, *lam2 = lam + m, *scratch = lam2 + m;
    /* dsyevd workspace, sized once */
    double wq;
    lapack_int iwq, info;
    info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', m, q, m, lam, &wq, -1, &iwq, -1);
    if (info != 0) {
        rc = dgcn_error_set(DGCN_ENUMERIC, "topology ADMM: dsyevd workspace query failed (info %d)",
                            (int)info);
        goto fail;
    }
    lapack_int lwork = (lapack_int)wq, liwork = iwq;
    DGCN_ALLOC(work, lwork);
    DGCN_ALLOC(iwork, liwork);

    double rho = o->rho, jv = 1.0 / m;
    for (int64_t i = 0; i < mm; i++) c[i] = 0.0;
    for (int32_t k = 0; k < m; k++) c[(int64_t)k * m + k] = 1.0; /* C = I, feasible */
    memset(x2, 0, (size_t)mm * sizeof *x2);
    st->converged = 0;
    int it;
    for (it = 1; it <= o->max_iter; it++) {
        /* the stop flag, before the dsyevd and before the dgemm: seen within one of them */
        DGCN_CHECK(dgcn_signal_check("the topology design"));
        memcpy(cprev, c, (size_t)mm * sizeof *c);
        /* X1 = J + prox_{||.||_2 / rho}(C - U1 - J) */
        for (int32_t k = 0; k < m; k++)
            for (int32_t t = 0; t < m; t++) {
                int64_t i = (int64_t)k * m + t, j = (int64_t)t * m + k;
                q[i] = 0.5 * (c[i] - u1[i] + c[j] - u1[j]) - jv;
            }
        dgcn_signal_uninterruptible_begin("the topology design (an eigendecomposition)");
        info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', m, q, m, lam, work, lwork, iwork,
                                   liwork);
        dgcn_signal_uninterruptible_end();
        if (info != 0) {
            rc = dgcn_error_set(DGCN_ENUMERIC,
                                "topology ADMM: dsyevd failed at iteration %d (info %d)", it,
                                (int)info);
            goto fail;
        }
        DGCN_CHECK(dgcn_signal_check("the topology design")); /* before the O(m^3) dgemm */
        double theta = s_clip_level(m, lam, 1.0 / rho, scratch);
        for (int32_t j = 0; j < m; j++) lam2[j] = fmax(-theta, fmin(theta, lam[j]));
        for (int32_t j = 0; j < m; j++) /* b = Q diag(lam2), column-major */
            for (int32_t i = 0; i < m; i++) b[(int64_t)j * m + i] = q[(int64_t)j * m + i] * lam2[j];
        dgcn_signal_uninterruptible_begin("the topology design (a matrix product)");
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, m, m, m, 1.0, b, m, q, m, 0.0, x1, m);
        dgcn_signal_uninterruptible_end();
        for (int64_t i = 0; i < mm; i++) x1[i] += jv;
        /* X2 = prox of the l1 term and the bounds at C - U2, entry by entry */
        double thr = gamma / rho;
        for (int64_t i = 0; i < mm; i++) {
            double v = c[i] - u2[i];
            switch (kind[i]) {
            case S_OFF: x2[i] = 0.0; break;
            case S_DIAG:
            case S_NONNEG: x2[i] = fmax(v, 0.0); break;
            case S_REQ: x2[i] = fmax(v, eps); break;
            default: x2[i] = fmax(v - thr, 0.0); break;
            }
        }
        /* C = projection of the average of X + U onto the affine set */
        /* over-relaxation: X_hat = alpha X + (1 - alpha) C_prev (b, p); C = projection of the
         * average of X_hat + U onto the affine set */
        for (int64_t i = 0; i < mm; i++) {
            b[i] = S_ALPHA * x1[i] + (1.0 - S_ALPHA) * cprev[i];
            p[i] = S_ALPHA * x2[i] + (1.0 - S_ALPHA) * cprev[i];
            q[i] = 0.5 * (b[i] + u1[i] + p[i] + u2[i]);
        }
        s_project_affine(m, q, c, scratch);
        double r2 = 0, d2 = 0;
        for (int64_t i = 0; i < mm; i++) {
            double e1 = x1[i] - c[i], e2 = x2[i] - c[i], dc = c[i] - cprev[i];
            u1[i] += b[i] - c[i];
            u2[i] += p[i] - c[i];
            r2 += e1 * e1 + e2 * e2;
            d2 += dc * dc;
        }
        double r = sqrt(r2), s = rho * sqrt(2.0 * d2);
        double eps_pri = o->tol_abs * sqrt(2.0) * m +
                         o->tol_rel * fmax(sqrt(s_frob2(x1, mm) + s_frob2(x2, mm)),
                                           sqrt(2.0 * s_frob2(c, mm)));
        double eps_dual = o->tol_abs * sqrt(2.0) * m +
                          o->tol_rel * rho * sqrt(s_frob2(u1, mm) + s_frob2(u2, mm));
        st->r_primal = r;
        st->r_dual = s;
        if (!isfinite(r) || !isfinite(s)) {
            rc = dgcn_error_set(DGCN_ENUMERIC, "topology ADMM: residual not finite at iteration %d",
                                it);
            goto fail;
        }
        if (r <= eps_pri && s <= eps_dual) {
            st->converged = 1;
            break;
        }
        if (it % 10 == 0 && (r > 10 * s || s > 10 * r)) { /* residual balancing */
            double f = r > 10 * s ? 2.0 : 0.5;
            rho *= f;
            for (int64_t i = 0; i < mm; i++) u1[i] /= f, u2[i] /= f;
        }
    }
    st->iterations = it > o->max_iter ? o->max_iter : it;
fail:
    free(buf);
    free(work);
    free(iwork);
    return rc;
}

/* c = an exactly feasible symmetric doubly stochastic matrix from x (which meets the bounds):
 * symmetrized off-diagonal, scaled down if a row exceeds 1, diagonal = 1 - row sum. */
static void s_repair(int32_t m, const double *x, double *c) {
    double max_row = 0;
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++) {
            double w = t == k ? 0.0 : 0.5 * (x[(int64_t)k * m + t] + x[(int64_t)t * m + k]);
            c[(int64_t)k * m + t] = w;
            s += w;
        }
        max_row = fmax(max_row, s);
    }
    double f = max_row > 1.0 ? 1.0 / max_row : 1.0;
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++)
            if (t != k) s += (c[(int64_t)k * m + t] *= f);
        c[(int64_t)k * m + k] = fmax(0.0, 1.0 - s);
    }
}

/* Fastest mixing on the links of g (kinds S_REQ with eps for links of req, S_NONNEG for the
 * others), repaired, or Metropolis-Hastings on g when that mixes faster. */
static int s_fastest(const dgcn_topo *g, const dgcn_topo *req, double eps,
                     const dgcn_design_opts *o, double *c, s_admm_stats *st, int *used_mh,
                     double *norm) {
    int rc = DGCN_OK;
    int32_t m = g->m;
    int64_t mm = (int64_t)m * m;
    uint8_t *kind = NULL;
    double *x2 = NULL, *mh = NULL, norm_mh;
    DGCN_ALLOC(kind, mm);
    DGCN_ALLOC(x2, mm);
    DGCN_ALLOC(mh, mm);
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = 0; t < m; t++)
            kind[(int64_t)k * m + t] = k == t                            ? S_DIAG
                                       : !dgcn_topo_has(g, k, t)         ? S_OFF
                                       : req && dgcn_topo_has(req, k, t) ? S_REQ
                                                                         : S_NONNEG;
    DGCN_CHECK(s_admm(m, kind, 0.0, eps, o, x2, st));
    s_repair(m, x2, c);
    DGCN_CHECK(dgcn_topo_norm_cj(m, c, norm));
    DGCN_CHECK(dgcn_local_weights(g, DGCN_MIX_MH, mh));
    DGCN_CHECK(dgcn_topo_norm_cj(m, mh, &norm_mh));
    *used_mh = norm_mh < *norm;
    if (*used_mh) {
        memcpy(c, mh, (size_t)mm * sizeof *c);
        *norm = norm_mh;
    }
fail:
    free(kind);
    free(x2);
    free(mh);
    return rc;
}

/* The design holds several m x m matrices and eigendecomposes them: small m only. */
static int s_check_size(int32_t m) {
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "topology design: %d agents; the dense design is limited to %d "
                              "(budget:B designs thousands of agents sparsely)",
                              m, DGCN_TOPO_DENSE_MAX);
    return DGCN_OK;
}

static int s_check_opts(const dgcn_design_opts *o, const dgcn_topo *req) {
    int32_t max_deg = 0;
    if (req) dgcn_topo_degree_stats(req, NULL, &max_deg, NULL);
    if (!(o->gamma >= 0 && isfinite(o->gamma)))
        return dgcn_error_set(DGCN_EINVAL, "topology design: gamma %g must be finite and >= 0",
                              o->gamma);
    if (!(o->eps >= 0 && o->eps * max_deg <= 1.0))
        return dgcn_error_set(
            DGCN_EINVAL,
            "topology design: eps %g infeasible (needs eps >= 0 and eps * max required "
            "degree %d <= 1)",
            o->eps, max_deg);
    if (!(o->threshold >= 0 && o->rho > 0 && o->tol_abs > 0 && o->tol_rel >= 0 && o->max_iter > 0))
        return dgcn_error_set(DGCN_EINVAL, "topology design: threshold >= 0, rho > 0, tol_abs > 0, "
                                           "tol_rel >= 0 and max_iter > 0 required");
    return DGCN_OK;
}

int dgcn_topo_fastest(const dgcn_topo *g, const dgcn_design_opts *o, double *c,
                      dgcn_design_result *res) {
    dgcn_design_opts def;
    if (!o) dgcn_design_defaults(&def), o = &def;
    int rc = s_check_size(g->m);
    if (!rc) rc = s_check_opts(o, NULL);
    if (rc) return rc;
    double t0 = dgcn_now_ms(), norm;
    s_admm_stats st = {0};
    int used_mh = 0;
    rc = s_fastest(g, NULL, 0.0, o, c, &st, &used_mh, &norm);
    if (rc) return rc;
    if (res) {
        memset(res, 0, sizeof *res);
        res->refine_iterations = st.iterations;
        res->converged = st.converged;
        res->used_metropolis = used_mh;
        res->r_primal = st.r_primal;
        res->r_dual = st.r_dual;
        res->norm_cj = norm;
        res->links = dgcn_topo_links(g);
        res->time_ms = dgcn_now_ms() - t0;
    }
    return DGCN_OK;
}

/* Consensus needs a connected graph, and the convex program cannot ask for one: while the support
 * has several components, no single extra link lowers ||C - J||_2 (its eigenvalue 1 has
 * multiplicity components - 1), so a large gamma keeps none. Joins the components of g by the
 * pairs with the largest design weight x2 between two different components (lowest ids on ties),
 * one at a time, Kruskal-style: at most m - 1 links, O(m^3) in all. */
static int s_connect(dgcn_topo *g, const double *x2 /* (m, m) */) {
    int rc = DGCN_OK;
    int32_t m = g->m, *comp = NULL;
    DGCN_ALLOC(comp, m);
    while (dgcn_topo_components(g, comp) > 1) {
        DGCN_CHECK(dgcn_signal_check("the topology design"));
        int32_t bk = -1, bt = -1;
        double best = -INFINITY;
        for (int32_t k = 0; k < m; k++)
            for (int32_t t = k + 1; t < m; t++) {
                if (comp[k] == comp[t]) continue;
                double w = 0.5 * (x2[(int64_t)k * m + t] + x2[(int64_t)t * m + k]);
                if (w > best) {
                    best = w;
                    bk = k;
                    bt = t;
                }
            }
        DGCN_CHECK(dgcn_topo_set(g, bk, bt, 1));
    }
fail:
    free(comp);
    return rc;
}

int dgcn_topo_design(const dgcn_topo *required, const dgcn_design_opts *o, dgcn_topo *support,
                     double *c, dgcn_design_result *res) {
    int rc = DGCN_OK;
    int32_t m = required->m;
    int64_t mm = (int64_t)m * m;
    uint8_t *kind = NULL;
    double *x2 = NULL, t0 = dgcn_now_ms();
    dgcn_topo cand = {0};
    dgcn_design_result r = {0};
    memset(support, 0, sizeof *support);
    DGCN_CHECK(s_check_size(m));
    DGCN_CHECK(s_check_opts(o, required));
    DGCN_ALLOC(kind, mm);
    DGCN_ALLOC(x2, mm);
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = 0; t < m; t++)
            kind[(int64_t)k * m + t] = k == t                          ? S_DIAG
                                       : dgcn_topo_has(required, k, t) ? S_REQ
                                                                       : S_FREE;
    s_admm_stats st = {0}, st2 = {0};
    DGCN_CHECK(s_admm(m, kind, o->gamma, o->eps, o, x2, &st));
    r.iterations = st.iterations;
    r.r_primal = st.r_primal;
    r.r_dual = st.r_dual;
    /* objective at X2 (symmetrized for the spectral term) */
    double l1 = 0;
    for (int64_t i = 0; i < mm; i++)
        if (kind[i] == S_FREE) l1 += fabs(x2[i]);
    double *sym = c; /* c as scratch */
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = 0; t < m; t++)
            sym[(int64_t)k * m + t] = 0.5 * (x2[(int64_t)k * m + t] + x2[(int64_t)t * m + k]);
    double nrm;
    DGCN_CHECK(dgcn_topo_norm_cj(m, sym, &nrm));
    r.objective = nrm + o->gamma * l1;
    /* candidate support: required links plus pairs above threshold */
    DGCN_CHECK(dgcn_topo_copy(&cand, required));
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = k + 1; t < m; t++)
            if (fmax(x2[(int64_t)k * m + t], x2[(int64_t)t * m + k]) > o->threshold)
                DGCN_CHECK(dgcn_topo_set(&cand, k, t, 1));
    DGCN_CHECK(s_connect(&cand, x2));
    DGCN_CHECK(s_fastest(&cand, required, o->eps, o, c, &st2, &r.used_metropolis, &r.norm_cj));
    r.refine_iterations = st2.iterations;
    r.converged = st.converged && st2.converged;
    /* final support: required links plus the candidates that kept a positive weight */
    DGCN_CHECK(dgcn_topo_copy(support, required));
    for (int32_t k = 0; k < m; k++)
        for (int32_t t = k + 1; t < m; t++)
            if (c[(int64_t)k * m + t] > 0) DGCN_CHECK(dgcn_topo_set(support, k, t, 1));
    r.links = dgcn_topo_links(support);
    r.extra_links = r.links - dgcn_topo_links(required);
    r.time_ms = dgcn_now_ms() - t0;
    if (res) *res = r;
fail:
    if (rc) dgcn_topo_fini(support);
    dgcn_topo_fini(&cand);
    free(kind);
    free(x2);
    return rc;
}
