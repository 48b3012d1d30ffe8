/* topologies/spectral.c: eigenvalues, SLEM, spectral gap and ||C - J||_2. */
#include "topologies/spectral.h"

#include "core/error.h"
#include "core/signal.h"
#include "topologies/eigen.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define S_LANCZOS_TOL 1e-10

int dgcn_topo_eigenvalues(int32_t m, const double *c, double *eig) {
    int rc = DGCN_OK;
    double *a = NULL;
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL, "dense eigenvalues of %d agents: limited to %d", m,
                              DGCN_TOPO_DENSE_MAX);
    DGCN_ALLOC(a, (size_t)m * m);
    memcpy(a, c, (size_t)m * m * sizeof *a);
    dgcn_signal_uninterruptible_begin("a dense eigensolve of the mixing matrix");
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'U', m, a, m, eig);
    dgcn_signal_uninterruptible_end();
    if (info != 0)
        rc = dgcn_error_set(DGCN_ENUMERIC, "dsyevd on a %d x %d matrix failed (info %d)", m, m,
                            (int)info);
fail:
    free(a);
    return rc;
}

int dgcn_topo_norm_cj(int32_t m, const double *c, double *norm) {
    int rc = DGCN_OK;
    double *a = NULL, *eig = NULL;
    DGCN_ALLOC(a, (size_t)m * m);
    DGCN_ALLOC(eig, m);
    for (int64_t i = 0; i < (int64_t)m * m; i++) a[i] = c[i] - 1.0 / m;
    DGCN_CHECK(dgcn_topo_eigenvalues(m, a, eig));
    *norm = fmax(fabs(eig[0]), fabs(eig[m - 1]));
fail:
    free(a);
    free(eig);
    return rc;
}

int dgcn_mixing_norm_cj(const dgcn_mixing *c, double *norm, int *exact) {
    int rc = DGCN_OK;
    double *d = NULL;
    if (exact) *exact = 1;
    if (c->m < DGCN_SPECTRAL_DENSE_BELOW) {
        DGCN_CHECK(dgcn_mixing_to_dense(c, &d));
        DGCN_CHECK(dgcn_topo_norm_cj(c->m, d, norm));
    } else {
        double l2, lmin;
        DGCN_CHECK(dgcn_topo_extremes_lanczos(c, S_LANCZOS_TOL, &l2, &lmin, exact));
        *norm = fmax(fabs(l2), fabs(lmin));
    }
fail:
    free(d);
    return rc;
}

int dgcn_topo_analyze(const dgcn_topo *g, const dgcn_mixing *mix, dgcn_topo_report *r) {
    int rc = DGCN_OK;
    double *eig = NULL, *c = NULL;
    int32_t m = g->m;
    memset(r, 0, sizeof *r);
    r->agents = m;
    r->links = dgcn_topo_links(g);
    dgcn_topo_degree_stats(g, &r->deg_min, &r->deg_max, &r->deg_mean);
    r->connected = dgcn_topo_connected(g);
    r->slem = r->gap = r->norm_cj = r->eig_min = r->eig_second = NAN;
    r->exact = 1;
    if (!mix) return DGCN_OK;
    if (m >= DGCN_SPECTRAL_DENSE_BELOW) {
        double l2, lmin;
        DGCN_CHECK(dgcn_topo_extremes_lanczos(mix, S_LANCZOS_TOL, &l2, &lmin, &r->exact));
        r->eig_min = lmin;
        r->eig_second = l2;
        r->slem = fmax(fabs(l2), fabs(lmin));
        r->gap = 1.0 - r->slem;
        r->norm_cj = r->slem;
        return DGCN_OK;
    }
    DGCN_CHECK(dgcn_mixing_to_dense(mix, &c));
    DGCN_ALLOC(eig, m);
    DGCN_CHECK(dgcn_topo_eigenvalues(m, c, eig));
    r->eig_min = eig[0];
    r->eig_second = m > 1 ? eig[m - 2] : NAN;
    r->slem = m > 1 ? fmax(fabs(eig[0]), fabs(eig[m - 2])) : 0.0;
    r->gap = 1.0 - r->slem;
    DGCN_CHECK(dgcn_topo_norm_cj(m, c, &r->norm_cj));
fail:
    free(eig);
    free(c);
    return rc;
}
