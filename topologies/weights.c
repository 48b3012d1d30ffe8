/* topologies/weights.c: every mixing rule by name: the local ones (local.h) and fastest-mixing
 * weights (design.h). */
#include "topologies/weights.h"

#include "topologies/design.h"
#include "topologies/local.h"

#include "core/error.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names[] = {"mh",          "maxdeg",  "lazy-mh",
                                      "lazy-maxdeg", "uniform", "fastest"};

int dgcn_topo_weights_parse(const char *name, dgcn_mixing_rule *out) {
    for (int i = 0; i < (int)(sizeof s_names / sizeof s_names[0]); i++)
        if (!strcmp(name, s_names[i])) {
            *out = (dgcn_mixing_rule)i;
            return DGCN_OK;
        }
    return dgcn_error_set(
        DGCN_EINVAL,
        "unknown mixing weights '%s' (mh, maxdeg, lazy-mh, lazy-maxdeg, uniform, fastest)", name);
}

const char *dgcn_topo_weights_name(dgcn_mixing_rule rule) {
    return (unsigned)rule < sizeof s_names / sizeof s_names[0] ? s_names[rule] : "?";
}

int dgcn_topo_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c) {
    int32_t m = g->m;
    if (rule != DGCN_MIX_FASTEST) return dgcn_local_weights(g, rule, c);
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "dense mixing matrix of %d agents: limited to %d agents (the run "
                              "plan keeps it sparse)",
                              m, DGCN_TOPO_DENSE_MAX);
    memset(c, 0, (size_t)m * m * sizeof *c);
    return dgcn_topo_fastest(g, NULL, c, NULL);
}

int dgcn_topo_weights_sparse(const dgcn_topo *g, dgcn_mixing_rule rule, dgcn_mixing *out) {
    int rc = DGCN_OK;
    int32_t m = g->m;
    double *dense = NULL;
    if (rule != DGCN_MIX_FASTEST) return dgcn_local_weights_sparse(g, rule, out);
    memset(out, 0, sizeof *out);
    DGCN_ALLOC(dense, (int64_t)m * m);
    DGCN_CHECK(dgcn_topo_weights(g, rule, dense));
    DGCN_CHECK(dgcn_mixing_from_dense(out, g, dense));
fail:
    free(dense);
    if (rc) dgcn_mixing_fini(out);
    return rc;
}

/* Entry (k, t) = v of a mixing matrix whose (t, k) is w: finite, not negative, symmetric. */
static int s_check_entry(int32_t k, int32_t t, double v, double w, double tol) {
    if (!isfinite(v) || v < -tol)
        return dgcn_error_set(DGCN_ETOPOLOGY,
                              "mixing matrix entry (%d, %d) = %.17g is negative or not finite", k,
                              t, v);
    if (fabs(v - w) > tol)
        return dgcn_error_set(DGCN_ETOPOLOGY,
                              "mixing matrix not symmetric: (%d, %d) = %.17g, (%d, %d) = %.17g", k,
                              t, v, t, k, w);
    return DGCN_OK;
}

int dgcn_mixing_check(const dgcn_mixing *c, double tol) {
    for (int32_t k = 0; k < c->m; k++) {
        double s = 0;
        for (int64_t e = c->ptr[k]; e < c->ptr[k + 1]; e++) {
            int32_t t = c->col[e];
            double v = c->val[e], w = dgcn_mixing_get(c, t, k);
            int rc = s_check_entry(k, t, v, w, tol);
            if (rc) return rc;
            s += v;
        }
        if (fabs(s - 1.0) > tol)
            return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix row %d sums to %.17g, not 1", k,
                                  s);
    }
    return DGCN_OK;
}

int dgcn_topo_weights_check(int32_t m, const double *c, const dgcn_topo *g, double tol) {
    if (g && g->m != m)
        return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix is %d x %d for a graph of %d agents",
                              m, m, g->m);
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++) {
            double v = c[(int64_t)k * m + t], w = c[(int64_t)t * m + k];
            int rc = s_check_entry(k, t, v, w, tol);
            if (rc) return rc;
            if (g && t != k && !dgcn_topo_has(g, k, t) && fabs(v) > tol)
                return dgcn_error_set(DGCN_ETOPOLOGY,
                                      "mixing matrix entry (%d, %d) = %.17g off the graph's links",
                                      k, t, v);
            s += v;
        }
        if (fabs(s - 1.0) > tol)
            return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix row %d sums to %.17g, not 1", k,
                                  s);
    }
    return DGCN_OK;
}
