/* topologies/mixing.c: the sparse mixing-matrix container (see mixing.h). */
#include "topologies/mixing.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

int dgcn_mixing_init(dgcn_mixing *c, const dgcn_topo *g) {
    int rc = DGCN_OK;
    int32_t m = g->m;
    memset(c, 0, sizeof *c);
    DGCN_ALLOC(c->ptr, (int64_t)m + 1);
    DGCN_ALLOC(c->col, (int64_t)m + 2 * dgcn_topo_links(g));
    DGCN_ALLOC(c->val, (int64_t)m + 2 * dgcn_topo_links(g));
    c->m = m;
    int64_t e = 0;
    for (int32_t k = 0; k < m; k++) {
        int32_t deg;
        const int32_t *nb = dgcn_topo_neighbors(g, k, &deg);
        int placed = 0;
        c->ptr[k] = e;
        for (int32_t i = 0; i < deg; i++) {
            if (!placed && nb[i] > k) c->col[e++] = k, placed = 1;
            c->col[e++] = nb[i];
        }
        if (!placed) c->col[e++] = k;
    }
    c->ptr[m] = e;
    return DGCN_OK;
fail:
    dgcn_mixing_fini(c);
    return rc;
}

void dgcn_mixing_fini(dgcn_mixing *c) {
    if (!c) return;
    free(c->ptr);
    free(c->col);
    free(c->val);
    memset(c, 0, sizeof *c);
}

/* Index of entry (k, t) in c's arrays, or -1 off the support. */
static int64_t s_index(const dgcn_mixing *c, int32_t k, int32_t t) {
    int64_t lo = c->ptr[k], hi = c->ptr[k + 1];
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (c->col[mid] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < c->ptr[k + 1] && c->col[lo] == t ? lo : -1;
}

double dgcn_mixing_get(const dgcn_mixing *c, int32_t k, int32_t t) {
    int64_t i = s_index(c, k, t);
    return i < 0 ? 0.0 : c->val[i];
}

int dgcn_mixing_from_dense(dgcn_mixing *out, const dgcn_topo *g, const double *d) {
    int rc = dgcn_mixing_init(out, g);
    if (rc) return rc;
    for (int32_t k = 0; k < g->m; k++)
        for (int64_t e = out->ptr[k]; e < out->ptr[k + 1]; e++)
            out->val[e] = d[(int64_t)k * g->m + out->col[e]];
    return DGCN_OK;
}

int dgcn_mixing_to_dense(const dgcn_mixing *c, double **d) {
    int rc = DGCN_OK;
    int32_t m = c->m;
    *d = NULL;
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "mixing matrix of %d agents: a dense copy is limited to %d agents", m,
                              DGCN_TOPO_DENSE_MAX);
    DGCN_ALLOC(*d, (int64_t)m * m);
    for (int32_t k = 0; k < m; k++)
        for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++)
            (*d)[(int64_t)k * m + c->col[e]] = c->val[e];
fail:
    return rc;
}

void dgcn_mixing_matvec(const dgcn_mixing *c, const double *x, double *y) {
    for (int32_t k = 0; k < c->m; k++) {
        double acc = 0;
        for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++) acc += c->val[e] * x[c->col[e]];
        y[k] = acc;
    }
}
