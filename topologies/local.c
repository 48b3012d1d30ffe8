/* topologies/local.c: Metropolis-Hastings, max-degree, lazy and uniform weights (see local.h). */
#include "topologies/local.h"

#include "core/error.h"

#include <stdlib.h>
#include <string.h>

/* Sets the diagonal to 1 - the off-diagonal row sum. */
static void s_fill_diagonal(int32_t m, double *c) {
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++)
            if (t != k) s += c[(int64_t)k * m + t];
        c[(int64_t)k * m + k] = 1.0 - s;
    }
}

int dgcn_local_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c) {
    int32_t m = g->m, max_deg;
    if (m > DGCN_TOPO_DENSE_MAX)
        return dgcn_error_set(DGCN_EINVAL,
                              "dense mixing matrix of %d agents: limited to %d agents (the run "
                              "plan keeps it sparse)",
                              m, DGCN_TOPO_DENSE_MAX);
    memset(c, 0, (size_t)m * m * sizeof *c);
    dgcn_topo_degree_stats(g, NULL, &max_deg, NULL);
    switch (rule) {
    case DGCN_MIX_MH:
    case DGCN_MIX_LAZY_MH:
    case DGCN_MIX_MAXDEG:
    case DGCN_MIX_LAZY_MAXDEG: {
        int mh = rule == DGCN_MIX_MH || rule == DGCN_MIX_LAZY_MH;
        for (int32_t k = 0; k < m; k++) {
            int32_t dk = mh ? dgcn_topo_degree(g, k) : max_deg;
            for (int32_t t = k + 1; t < m; t++) {
                if (!dgcn_topo_has(g, k, t)) continue;
                int32_t dt = mh ? dgcn_topo_degree(g, t) : max_deg;
                double w = 1.0 / (1.0 + (dk > dt ? dk : dt));
                c[(int64_t)k * m + t] = c[(int64_t)t * m + k] = w;
            }
        }
        if (rule == DGCN_MIX_LAZY_MH || rule == DGCN_MIX_LAZY_MAXDEG)
            for (int64_t i = 0; i < (int64_t)m * m; i++) c[i] *= 0.5;
        s_fill_diagonal(m, c);
        return DGCN_OK;
    }
    case DGCN_MIX_UNIFORM:
        if (dgcn_topo_links(g) != (int64_t)m * (m - 1) / 2)
            return dgcn_error_set(
                DGCN_ETOPOLOGY,
                "uniform weights need the complete graph (%d agents have %lld of %lld links)", m,
                (long long)dgcn_topo_links(g), (long long)m * (m - 1) / 2);
        for (int64_t i = 0; i < (int64_t)m * m; i++) c[i] = 1.0 / m;
        return DGCN_OK;
    case DGCN_MIX_FASTEST: break; /* not a local rule: weights.h */
    }
    return dgcn_error_set(DGCN_EINVAL, "mixing weights: unknown rule %d", (int)rule);
}

int dgcn_local_weights_sparse(const dgcn_topo *g, dgcn_mixing_rule rule, dgcn_mixing *out) {
    int rc = DGCN_OK;
    int32_t m = g->m, max_deg;
    memset(out, 0, sizeof *out);
    if (rule == DGCN_MIX_UNIFORM && dgcn_topo_links(g) != (int64_t)m * (m - 1) / 2)
        return dgcn_error_set(
            DGCN_ETOPOLOGY,
            "uniform weights need the complete graph (%d agents have %lld of %lld links)", m,
            (long long)dgcn_topo_links(g), (long long)m * (m - 1) / 2);
    if ((unsigned)rule >= DGCN_MIX_FASTEST)
        return dgcn_error_set(DGCN_EINVAL, "mixing weights: unknown rule %d", (int)rule);
    DGCN_CHECK(dgcn_mixing_init(out, g));
    dgcn_topo_degree_stats(g, NULL, &max_deg, NULL);
    int mh = rule == DGCN_MIX_MH || rule == DGCN_MIX_LAZY_MH;
    int lazy = rule == DGCN_MIX_LAZY_MH || rule == DGCN_MIX_LAZY_MAXDEG;
    for (int32_t k = 0; k < m; k++) {
        /* the same arithmetic in the same order as the dense rule: link weights, halved when
         * lazy, then the diagonal as 1 - their sum in increasing column order */
        int32_t dk = mh ? dgcn_topo_degree(g, k) : max_deg;
        double s = 0;
        int64_t diag = -1;
        for (int64_t e = out->ptr[k]; e < out->ptr[k + 1]; e++) {
            int32_t t = out->col[e];
            if (t == k) {
                diag = e;
                continue;
            }
            double w;
            if (rule == DGCN_MIX_UNIFORM) {
                w = 1.0 / m;
            } else {
                int32_t dt = mh ? dgcn_topo_degree(g, t) : max_deg;
                w = 1.0 / (1.0 + (dk > dt ? dk : dt));
                if (lazy) w *= 0.5;
            }
            out->val[e] = w;
            s += w;
        }
        out->val[diag] = rule == DGCN_MIX_UNIFORM ? 1.0 / m : 1.0 - s;
    }
fail:
    if (rc) dgcn_mixing_fini(out);
    return rc;
}
