/* topologies/spectral.c: eigenvalues, SLEM, spectral gap and ||C - J||_2. */
#include "topologies/spectral.h"

#include "core/error.h"

#include <lapacke.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int dgcn_topo_eigenvalues(int32_t m, const double *c, double *eig) {
    int rc = DGCN_OK;
    double *a = NULL;
    DGCN_ALLOC(a, (size_t)m * m);
    memcpy(a, c, (size_t)m * m * sizeof *a);
    lapack_int info = LAPACKE_dsyevd(LAPACK_COL_MAJOR, 'N', 'U', m, a, m, eig);
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

int dgcn_topo_analyze(const dgcn_topo *g, const double *c, dgcn_topo_report *r) {
    int rc = DGCN_OK;
    double *eig = NULL;
    int32_t m = g->m;
    memset(r, 0, sizeof *r);
    r->agents = m;
    r->links = dgcn_topo_links(g);
    dgcn_topo_degree_stats(g, &r->deg_min, &r->deg_max, &r->deg_mean);
    r->connected = dgcn_topo_connected(g);
    r->slem = r->gap = r->norm_cj = r->eig_min = r->eig_second = NAN;
    if (!c) return DGCN_OK;
    DGCN_ALLOC(eig, m);
    DGCN_CHECK(dgcn_topo_eigenvalues(m, c, eig));
    r->eig_min = eig[0];
    r->eig_second = m > 1 ? eig[m - 2] : NAN;
    r->slem = m > 1 ? fmax(fabs(eig[0]), fabs(eig[m - 2])) : 0.0;
    r->gap = 1.0 - r->slem;
    DGCN_CHECK(dgcn_topo_norm_cj(m, c, &r->norm_cj));
fail:
    free(eig);
    return rc;
}
