/* topologies/eigen.c: the dense and Lanczos extreme-pair eigensolvers (see eigen.h). */
#include "topologies/eigen.h"

#include "core/error.h"
#include "core/signal.h"

#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_DENSE_BELOW 64 /* auto: dense eigensolver below this many agents */
#define S_KMAX 800       /* Lanczos steps per solve, at most */
#define S_CHECK_EVERY 6  /* Lanczos steps between convergence checks */

static double s_w(const dgcn_eigen *s, int32_t k, int32_t t) {
    int32_t d = s->deg[k] > s->deg[t] ? s->deg[k] : s->deg[t];
    return 1.0 / (1.0 + d);
}

/* Appends t to k's list, growing it by doubling. */
static int s_append(dgcn_eigen *s, int32_t k, int32_t t) {
    if (s->deg[k] == s->ncap[k]) {
        int32_t cap = s->ncap[k] ? 2 * s->ncap[k] : 4;
        int32_t *p = realloc(s->nbr[k], (size_t)cap * sizeof *p);
        if (!p)
            return dgcn_error_set(DGCN_ENOMEM, "budget design: out of memory for %d links of %d",
                                  cap, k);
        s->nbr[k] = p;
        s->ncap[k] = cap;
    }
    s->nbr[k][s->deg[k]++] = t;
    return DGCN_OK;
}

/* y = C x for the MH matrix of the support (or the given matrix). O(m + links). */
static void s_matvec(const dgcn_eigen *s, const double *x /* (m) */, double *y /* (m) */) {
    if (s->mix) {
        dgcn_mixing_matvec(s->mix, x, y);
        return;
    }
    for (int32_t k = 0; k < s->m; k++) {
        double acc = x[k];
        const int32_t *nb = s->nbr[k];
        for (int32_t i = 0; i < s->deg[k]; i++) acc += s_w(s, k, nb[i]) * (x[nb[i]] - x[k]);
        y[k] = acc;
    }
}

static void s_center(int32_t m, double *x) {
    double mean = 0;
    for (int32_t i = 0; i < m; i++) mean += x[i];
    mean /= m;
    for (int32_t i = 0; i < m; i++) x[i] -= mean;
}

/* Extreme eigenpairs of the dense C - J by two ranged dsyevr calls. */
static int s_eig_dense(dgcn_eigen *s) {
    int32_t m = s->m;
    int64_t mm = (int64_t)m * m;
    double *a = s->q;
    for (int pass = 0; pass < 2; pass++) {
        for (int64_t i = 0; i < mm; i++) a[i] = -1.0 / m;
        for (int32_t k = 0; k < m; k++) {
            double row = 0;
            const int32_t *nb = s->nbr[k];
            for (int32_t i = 0; i < s->deg[k]; i++) {
                double w = s_w(s, k, nb[i]);
                a[(int64_t)k * m + nb[i]] += w;
                row += w;
            }
            a[(int64_t)k * m + k] += 1.0 - row;
        }
        /* a ranged solve may return more than the one eigenvalue asked for when it sits in a
         * cluster: ev and zz have room for all m */
        lapack_int found = 0, idx = pass ? 1 : m;
        dgcn_signal_uninterruptible_begin("the budget design (a dense eigensolve)");
        lapack_int info = LAPACKE_dsyevr(LAPACK_COL_MAJOR, 'V', 'I', 'U', m, a, m, 0.0, 0.0, idx,
                                         idx, 0.0, &found, s->ev, s->zz, m,
                                         (lapack_int *)s->isuppz);
        dgcn_signal_uninterruptible_end();
        if (info != 0 || found < 1)
            return dgcn_error_set(DGCN_ENUMERIC,
                                  "budget design: dsyevr on %d agents failed (info %d)", m,
                                  (int)info);
        /* the asked-for one is the first found for the smallest, the last for the largest */
        int64_t col = pass ? 0 : found - 1;
        memcpy(pass ? s->vmin : s->v2, s->zz + col * m, (size_t)m * sizeof *s->zz);
        if (pass) s->lmin = s->ev[col];
        else s->l2 = s->ev[col];
    }
    s->have_vec = 1;
    s->solves++;
    return DGCN_OK;
}

/* The extreme Ritz pair (il = 1: smallest, else largest) of the n x n tridiagonal; z receives its
 * coefficients. */
static int s_ritz(dgcn_eigen *s, int n, int smallest, double *theta) {
    memcpy(s->td, s->alpha, (size_t)n * sizeof *s->td);
    if (n > 1) memcpy(s->te, s->beta, (size_t)(n - 1) * sizeof *s->te);
    lapack_int found = 0, idx = smallest ? 1 : n;
    lapack_int info = LAPACKE_dstevr(LAPACK_COL_MAJOR, 'V', 'I', n, s->td, s->te, 0.0, 0.0, idx,
                                     idx, 0.0, &found, s->ev, s->zz, n, (lapack_int *)s->isuppz);
    if (info != 0 || found < 1)
        return dgcn_error_set(DGCN_ENUMERIC, "budget design: dstevr of order %d failed (info %d)",
                              n, (int)info);
    int64_t col = smallest ? 0 : found - 1; /* a cluster may return several */
    memcpy(s->z, s->zz + col * n, (size_t)n * sizeof *s->z);
    *theta = s->ev[col];
    return DGCN_OK;
}

/* Lanczos on C restricted to 1-perp with full reorthogonalization, started from v2 + vmin (plus a
 * fixed small perturbation) when known; stops when both extreme Ritz residuals are below tol. */
static int s_eig_lanczos(dgcn_eigen *s) {
    int rc = DGCN_OK;
    int32_t m = s->m;
    double *q0 = s->q;
    /* a fixed pseudo-random vector (golden-ratio sequence) of norm 0.1 beside the warm start, so
     * that an eigenvector the last change brought to the edge of the spectrum is found too */
    double rs = 0.1 / sqrt(m / 12.0);
    for (int32_t i = 0; i < m; i++) {
        double r = fmod(0.6180339887498949 * (i + 1), 1.0) - 0.5;
        q0[i] = s->have_vec ? s->v2[i] + s->vmin[i] + rs * r : r;
    }
    s_center(m, q0);
    double nrm = cblas_dnrm2(m, q0, 1);
    cblas_dscal(m, 1.0 / nrm, q0, 1);
    int n = 0;
    double top = 0, bot = 0;
    for (int j = 0; j < s->kmax; j++) {
        DGCN_CHECK(dgcn_signal_check("an eigensolve")); /* a step is O(j m): the flag is seen */
        double *qj = s->q + (int64_t)j * m;
        s_matvec(s, qj, s->w);
        s_center(m, s->w);
        s->alpha[j] = cblas_ddot(m, qj, 1, s->w, 1);
        for (int pass = 0; pass < 2; pass++) { /* w -= Q Q^T w, twice */
            cblas_dgemv(CblasRowMajor, CblasNoTrans, j + 1, m, 1.0, s->q, m, s->w, 1, 0.0, s->h, 1);
            cblas_dgemv(CblasRowMajor, CblasTrans, j + 1, m, -1.0, s->q, m, s->h, 1, 1.0, s->w, 1);
        }
        s->beta[j] = cblas_dnrm2(m, s->w, 1);
        n = j + 1;
        s->steps++;
        int last = n == s->kmax || s->beta[j] < 1e-12;
        if (!last && n % S_CHECK_EVERY) {
            cblas_dcopy(m, s->w, 1, s->q + (int64_t)n * m, 1);
            cblas_dscal(m, 1.0 / s->beta[j], s->q + (int64_t)n * m, 1);
            continue;
        }
        DGCN_CHECK(s_ritz(s, n, 0, &top));
        double res_top = fabs(s->beta[j] * s->z[n - 1]);
        DGCN_CHECK(s_ritz(s, n, 1, &bot));
        double res_bot = fabs(s->beta[j] * s->z[n - 1]);
        s->converged = (res_top < s->tol && res_bot < s->tol) || s->beta[j] < 1e-12 ||
                       n >= m - 1; /* a Krylov space of all of 1-perp is exact */
        if (last || s->converged) break;
        cblas_dcopy(m, s->w, 1, s->q + (int64_t)n * m, 1);
        cblas_dscal(m, 1.0 / s->beta[j], s->q + (int64_t)n * m, 1);
    }
    /* Ritz vectors: z holds the smallest pair's coefficients now */
    cblas_dgemv(CblasRowMajor, CblasTrans, n, m, 1.0, s->q, m, s->z, 1, 0.0, s->vmin, 1);
    DGCN_CHECK(s_ritz(s, n, 0, &top));
    cblas_dgemv(CblasRowMajor, CblasTrans, n, m, 1.0, s->q, m, s->z, 1, 0.0, s->v2, 1);
    s->l2 = top;
    s->lmin = bot;
    s->have_vec = 1;
    s->solves++;
fail:
    return rc;
}

void dgcn_eigen_fini(dgcn_eigen *s) {
    if (!s) return;
    for (int32_t k = 0; s->nbr && k < s->m; k++) free(s->nbr[k]);
    free(s->deg);
    free(s->ncap);
    free(s->nbr);
    free(s->v2);
    free(s->vmin);
    free(s->q);
    free(s->w);
    free(s->h);
    free(s->alpha);
    free(s->beta);
    free(s->td);
    free(s->te);
    free(s->z);
    free(s->ev);
    free(s->zz);
    free(s->isuppz);
    memset(s, 0, sizeof *s);
}

/* Sets up s for MH on g's links, or for the given matrix mix when g is NULL (Lanczos only). */
static int s_init(dgcn_eigen *s, const dgcn_topo *g, const dgcn_mixing *mix,
                  dgcn_eigen_method eigen, double tol) {
    int rc = DGCN_OK;
    int32_t m = g ? g->m : mix->m;
    memset(s, 0, sizeof *s);
    s->m = m;
    s->mix = g ? NULL : mix;
    s->tol = tol;
    s->dense = eigen == DGCN_EIGEN_DENSE || (eigen == DGCN_EIGEN_AUTO && m < S_DENSE_BELOW);
    if (!g) s->dense = 0;
    if (s->dense && m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "budget design: the dense eigensolver is limited to %d agents (%d "
                              "asked); use Lanczos",
                              DGCN_TOPO_DENSE_MAX, m);
    s->kmax = m - 1 < S_KMAX ? m - 1 : S_KMAX;
    if (s->kmax < 1) s->kmax = 1;
    int64_t qlen = s->dense ? (int64_t)m * m : (int64_t)(s->kmax + 1) * m;
    DGCN_ALLOC(s->deg, m);
    DGCN_ALLOC(s->ncap, m);
    DGCN_ALLOC(s->nbr, m);
    DGCN_ALLOC(s->v2, m);
    DGCN_ALLOC(s->vmin, m);
    DGCN_ALLOC(s->q, qlen);
    DGCN_ALLOC(s->w, m);
    DGCN_ALLOC(s->h, s->kmax + 1);
    DGCN_ALLOC(s->alpha, s->kmax + 1);
    DGCN_ALLOC(s->beta, s->kmax + 1);
    DGCN_ALLOC(s->td, s->kmax + 1);
    DGCN_ALLOC(s->te, s->kmax + 1);
    DGCN_ALLOC(s->z, s->kmax + 1);
    int64_t e = s->dense ? m : s->kmax + 1;
    DGCN_ALLOC(s->ev, e);
    DGCN_ALLOC(s->zz, e * e);
    lapack_int *isuppz;
    DGCN_ALLOC(isuppz, 2 * e);
    s->isuppz = isuppz;
    for (int32_t k = 0; g && k < m; k++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(g, k, &deg);
        for (int32_t i = 0; i < deg; i++) DGCN_CHECK(s_append(s, k, nb[i]));
    }
    return DGCN_OK;
fail:
    dgcn_eigen_fini(s);
    return rc;
}

int dgcn_eigen_init_mh(dgcn_eigen *e, const dgcn_topo *g, dgcn_eigen_method method, double tol) {
    return s_init(e, g, NULL, method, tol);
}

int dgcn_eigen_init_mixing(dgcn_eigen *e, const dgcn_mixing *c, double tol) {
    return s_init(e, NULL, c, DGCN_EIGEN_LANCZOS, tol);
}

int dgcn_eigen_link(dgcn_eigen *e, int32_t k, int32_t t) {
    int rc = s_append(e, k, t);
    if (!rc) rc = s_append(e, t, k);
    return rc;
}

void dgcn_eigen_unlink(dgcn_eigen *e, int32_t k, int32_t t) {
    e->deg[k]--;
    e->deg[t]--;
}

int dgcn_eigen_solve(dgcn_eigen *e) { return e->dense ? s_eig_dense(e) : s_eig_lanczos(e); }

double dgcn_eigen_slem(const dgcn_eigen *e) { return fmax(0.0, fmax(e->l2, -e->lmin)); }

int dgcn_topo_slem_mh(const dgcn_topo *g, dgcn_eigen_method eigen, double *slem) {
    dgcn_eigen e;
    int rc = dgcn_eigen_init_mh(&e, g, eigen, 1e-10);
    if (rc) return rc;
    if (g->m == 1) *slem = 0.0;
    else if (!dgcn_topo_connected(g)) *slem = 1.0;
    else if (!(rc = dgcn_eigen_solve(&e))) *slem = dgcn_eigen_slem(&e);
    dgcn_eigen_fini(&e);
    return rc;
}

int dgcn_topo_extremes_lanczos(const dgcn_mixing *c, double tol, double *l2, double *lmin,
                               int *converged) {
    dgcn_eigen e;
    if (converged) *converged = 1;
    if (c->m < 2) return *l2 = *lmin = 0.0, DGCN_OK;
    int rc = dgcn_eigen_init_mixing(&e, c, tol);
    if (!rc) rc = dgcn_eigen_solve(&e);
    if (!rc) *l2 = e.l2, *lmin = e.lmin;
    if (!rc && converged) *converged = e.converged;
    dgcn_eigen_fini(&e);
    return rc;
}
