/* topologies/weights.c: Metropolis-Hastings, max-degree, lazy, uniform and fastest-mixing weights. */
#include "topologies/weights.h"

#include "topologies/design.h"

#include "core/error.h"

#include <math.h>
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

/* Sets the diagonal to 1 - the off-diagonal row sum. */
static void s_fill_diagonal(int32_t m, double *c) {
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++)
            if (t != k) s += c[(int64_t)k * m + t];
        c[(int64_t)k * m + k] = 1.0 - s;
    }
}

int dgcn_topo_weights(const dgcn_topo *g, dgcn_mixing_rule rule, double *c) {
    int32_t m = g->m, max_deg;
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
    case DGCN_MIX_FASTEST: return dgcn_topo_fastest(g, NULL, c, NULL);
    }
    return dgcn_error_set(DGCN_EINVAL, "mixing weights: unknown rule %d", (int)rule);
}

int dgcn_topo_weights_check(int32_t m, const double *c, const dgcn_topo *g, double tol) {
    if (g && g->m != m)
        return dgcn_error_set(DGCN_ETOPOLOGY, "mixing matrix is %d x %d for a graph of %d agents",
                              m, m, g->m);
    for (int32_t k = 0; k < m; k++) {
        double s = 0;
        for (int32_t t = 0; t < m; t++) {
            double v = c[(int64_t)k * m + t], w = c[(int64_t)t * m + k];
            if (!isfinite(v) || v < -tol)
                return dgcn_error_set(
                    DGCN_ETOPOLOGY,
                    "mixing matrix entry (%d, %d) = %.17g is negative or not finite", k, t, v);
            if (fabs(v - w) > tol)
                return dgcn_error_set(
                    DGCN_ETOPOLOGY,
                    "mixing matrix not symmetric: (%d, %d) = %.17g, (%d, %d) = %.17g", k, t, v, t,
                    k, w);
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
